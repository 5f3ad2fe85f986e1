// A server that answers a check 30 ms after its request and then stalls this process (server and
// checker share the event loop) until 100 ms past the check's deadline: when the loop wakes, both the
// answer and the deadline are due. The answer was there in time, so the check must be up.
import * as net from 'node:net';
import type { Test } from 'tap';
import { loopbackAddress } from './check-defs.js';

/** Listens on a loopback address; `deadline()` is the check's deadline (epoch ms), read when the stall starts. */
export async function answerThenStall(tt: Test, deadline: () => number): Promise<{ address: string; port: number }> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => {
      // From an immediate, so that the next thing the loop does is run its (now due) timers.
      setTimeout(() => setImmediate(() => {
        s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
        while (Date.now() < deadline() + 100);
      }), 30);
    });
  });
  const address = loopbackAddress();
  await new Promise<void>((r) => server.listen(0, address, r));
  tt.teardown(() => server.close());
  return { address, port: (server.address() as net.AddressInfo).port };
}
