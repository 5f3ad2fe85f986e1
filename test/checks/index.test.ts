// createChecker: one factory for every kind; bad targets give a down result, never an exception.
import t from 'tap';
import { createChecker } from '../../src/checks/index.js';
import { commandDef, dnsDef, httpDef, idleDef, tcpDef } from './check-defs.js';

t.test('every kind is built and reports its own def', async (tt) => {
  for (const def of [httpDef(), tcpDef(), idleDef(), commandDef(['/bin/true']), dnsDef()]) {
    const c = createChecker(def);
    tt.equal(c.def, def, def.kind);
    await c.close?.();
  }
});

t.test('a target node rejects synchronously becomes a down `error` result', async (tt) => {
  const target = { host: 'h', address: '127.0.0.1', port: 70000 };
  for (const def of [httpDef(), tcpDef(), dnsDef()]) {
    const r = await createChecker(def).check(target, Date.now() + 300);
    tt.equal(r.up, false, def.kind);
    tt.equal(r.code, 'error', `${def.kind}: ${r.message}`);
    tt.match(r.message, new RegExp(`^${def.kind} check ${def.name} could not run: .*70000`));
  }
  const nul = await createChecker(commandDef(['/bin/echo', 'a\u0000b'])).check(target, Date.now() + 300);
  tt.equal(nul.code, 'error', nul.message);
});
