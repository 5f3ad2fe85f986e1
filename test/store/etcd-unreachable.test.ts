// An etcd nobody answers at: every failure is a StoreUnavailableError ("cannot reach etcd at …"),
// including the calls the etcd3 library refuses itself once its circuit breaker has opened after a
// few failures ("Execution prevented because the circuit breaker is open"). Callers tell "etcd is
// down, retry" from "etcd refused this" by that type (the daemon's compaction warning names it).
import t from 'tap';
import { createServer } from 'node:net';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { Etcd3Kv } from '../../src/store/kv-etcd3.js';

const port = await new Promise<number>((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});

t.test('every failure against an unreachable etcd is StoreUnavailableError, the circuit breaker\'s too', async (t) => {
  const kv = new Etcd3Kv({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 500 });
  t.teardown(() => kv.close());
  const messages: string[] = [];
  for (let i = 0; i < 8; i++) {
    const err = await kv.range({ key: '/x', prefix: true }).then(() => undefined, (e: unknown) => e);
    t.type(err, StoreUnavailableError, `call ${i + 1}`);
    t.match((err as Error).message, /^cannot reach etcd at http:\/\/127\.0\.0\.1:\d+: /);
    messages.push((err as Error).message);
  }
  t.ok(messages.some((m) => /circuit breaker is open/.test(m)), 'the breaker opened along the way (so its error was seen)');
});
