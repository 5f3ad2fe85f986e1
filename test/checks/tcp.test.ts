// The tcp check, and connect timeouts for tcp and http, against real loopback sockets.
import t from 'tap';
import { HttpChecker } from '../../src/checks/http.js';
import { TcpChecker } from '../../src/checks/tcp.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { startBlackhole } from './blackhole.js';
import { httpDef, loopbackAddress, tcpDef } from './check-defs.js';

t.test('connect is up; nothing listening is refused', async (tt) => {
  const sim = await startSimulator({ backends: [{ address: loopbackAddress(), port: 0, behaviour: 'hang-before-headers' }] });
  tt.teardown(() => sim.stop());
  const [{ address, port }] = sim.list();
  const c = new TcpChecker(tcpDef());
  const up = await c.check({ host: 'h', address, port }, Date.now() + 500);
  tt.equal(up.up, true, up.message);
  tt.type(up.timings.connectMs, 'number');
  await sim.setBehaviour(address, port, 'refused');
  const down = await c.check({ host: 'h', address, port }, Date.now() + 500);
  tt.equal(down.code, 'refused');
  const other = await new TcpChecker(tcpDef({ port: 1 })).check({ host: 'h', address, port }, Date.now() + 500);
  tt.equal(other.detail?.target, `${address}:1`, 'the check port overrides the LVS port');
});

t.test('a dropped SYN is connect_timeout, at the deadline, for tcp and http', async (tt) => {
  const bh = await startBlackhole(loopbackAddress());
  tt.teardown(() => bh.stop());
  const target = { host: 'h', address: bh.address, port: bh.port };
  for (const c of [new TcpChecker(tcpDef()), new HttpChecker(httpDef())]) {
    const start = Date.now();
    const r = await c.check(target, start + 400);
    const elapsed = Date.now() - start;
    tt.equal(r.code, 'connect_timeout', `${c.def.kind}: ${r.message}`);
    tt.ok(elapsed >= 395 && elapsed <= 500, `${c.def.kind}: verdict at the deadline (${elapsed} ms)`);
  }
});
