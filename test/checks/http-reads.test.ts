// Plain-TCP checks read into one buffer shared by every check (http-exchange.ts, net `onread`). These
// tests fail if the parser kept a view of that buffer instead of a copy: a head split across reads,
// and a kept body arriving in pieces, are judged while other checks' reads overwrite the buffer.
import * as net from 'node:net';
import t from 'tap';
import { HttpChecker } from '../../src/checks/http.js';
import { httpDef, loopbackAddress } from './check-defs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answers every request by writing `parts` with pauses between them, then closing. */
async function server(parts: string[]): Promise<{ address: string; port: number; close: () => void }> {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', async () => {
      for (const p of parts) {
        if (s.destroyed) return;
        s.write(p);
        await sleep(15);
      }
      s.end();
    });
  });
  const address = loopbackAddress();
  await new Promise<void>((r) => srv.listen(0, address, r));
  return { address, port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

t.test('head split across reads and a kept body in pieces survive concurrent checks', async (tt) => {
  const body = JSON.stringify({ name: 'cxserver', status: 'ok', pad: 'x'.repeat(200) });
  const split = await server(['HTTP/1.1 200 OK\r\nContent-Le', `ngth: ${body.length}\r\nConnection: close\r\n`, '\r\n', body.slice(0, 30), body.slice(30, 120), body.slice(120)]);
  // Noise: many small fast responses whose reads land in the shared buffer in between.
  const noise = await server([`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nZZZZZ`]);
  tt.teardown(() => {
    split.close();
    noise.close();
  });
  const strict = new HttpChecker(
    httpDef({ timeoutMs: 2000, expect: { status: [{ from: 200, to: 200 }], body: { contains: 'cxserver', regex: `"pad":"x{200}"`, json: { path: 'status', equals: 'ok' } } } }),
  );
  const plain = new HttpChecker(httpDef({ timeoutMs: 2000 }));
  let stop = false;
  const noiseLoop = (async () => {
    let n = 0;
    while (!stop) {
      const r = await plain.check({ host: 'n', address: noise.address, port: noise.port }, Date.now() + 2000);
      if (!r.up) throw new Error(`noise check failed: ${r.message}`);
      n++;
    }
    return n;
  })();
  const results = await Promise.all(Array.from({ length: 5 }, () => strict.check({ host: 'h', address: split.address, port: split.port }, Date.now() + 2000)));
  stop = true;
  const noiseChecks = await noiseLoop;
  tt.ok(noiseChecks >= 1, `other checks read in between (${noiseChecks})`);
  for (const r of results) {
    tt.equal(r.up, true, r.message);
    tt.equal(r.detail?.bytes, body.length);
  }
});

t.test('a body split across reads that does not match is still body_mismatch with the right bytes', async (tt) => {
  const body = 'hello world, this is not the service you are looking for';
  const srv = await server([`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`, body.slice(10)]);
  tt.teardown(() => srv.close());
  const c = new HttpChecker(httpDef({ timeoutMs: 2000, expect: { status: [{ from: 200, to: 200 }], body: { regex: '^hello world, this is not' } } }));
  const ok = await c.check({ host: 'h', address: srv.address, port: srv.port }, Date.now() + 2000);
  tt.equal(ok.up, true, `the kept body is the bytes sent, in order: ${ok.message}`);
  const c2 = new HttpChecker(httpDef({ timeoutMs: 2000, expect: { status: [{ from: 200, to: 200 }], body: { contains: 'cxserver' } } }));
  const bad = await c2.check({ host: 'h', address: srv.address, port: srv.port }, Date.now() + 2000);
  tt.equal(bad.code, 'body_mismatch');
});
