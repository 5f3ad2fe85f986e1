import t from 'tap';
import { targetsForService } from '../../src/checks/sched-targets.js';
import { CheckScheduler } from '../../src/checks/scheduler.js';
import { ManualClock } from '../../src/checks/sched-clock.js';
import type { ServiceDef } from '../../src/model/types.js';
import { FakeBackends, httpDef, seeded, tcpDef } from './scheduler-fakes.js';

const def: ServiceDef = {
  dc: 'eqiad',
  name: 'cxserver_8080',
  catalog: 'cxserver',
  pool: { cluster: 'sca', service: 'cxserver' },
  lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
  depoolThreshold: 0.5,
  checks: [httpDef({ name: 'info' }), tcpDef({ name: 'tcp', port: 9000 })],
  flapping: { transitions: 6, windowMs: 600_000 },
  monitoring: {},
  servers: { 'sca1002.eqiad.wmnet': { weight: 10 }, 'sca1001.eqiad.wmnet': { weight: 10, address: '127.0.0.11' } },
};

t.test('one target per server and check, with the last published health and the service flapping policy', async (t) => {
  const ts = targetsForService(def, (h) => h === 'sca1001.eqiad.wmnet');
  t.same(
    ts.map((x) => [x.host, x.address, x.port, x.check.name, x.initialUp]),
    [
      ['sca1001.eqiad.wmnet', '127.0.0.11', 8080, 'info', true],
      ['sca1001.eqiad.wmnet', '127.0.0.11', 8080, 'tcp', true],
      ['sca1002.eqiad.wmnet', 'sca1002.eqiad.wmnet', 8080, 'info', false],
      ['sca1002.eqiad.wmnet', 'sca1002.eqiad.wmnet', 8080, 'tcp', false],
    ],
  );
  t.ok(ts.every((x) => x.flapping === def.flapping && x.service.name === 'cxserver_8080'));
});

t.test('the scheduler accepts them; the tcp check goes to its own port', async (t) => {
  const clock = new ManualClock();
  const backends = new FakeBackends(clock);
  const sched = new CheckScheduler({ createChecker: backends.create, clock, random: seeded(3), onError: () => {} });
  const r = sched.setTargets(targetsForService(def));
  t.same(r.rejected, []);
  t.same(sched.targetKeys().sort(), [
    'eqiad/cxserver_8080/sca1001.eqiad.wmnet/info',
    'eqiad/cxserver_8080/sca1001.eqiad.wmnet/tcp',
    'eqiad/cxserver_8080/sca1002.eqiad.wmnet/info',
    'eqiad/cxserver_8080/sca1002.eqiad.wmnet/tcp',
  ]);
  sched.start();
  await clock.advance(1100); // first slots lie within the interval, plus the 5 % spread and the 10 ms batch tick
  const ports = backends.calls.map((c) => `${c.target.address}:${c.target.port}`).sort();
  t.same(ports, ['127.0.0.11:8080', '127.0.0.11:9000', 'sca1002.eqiad.wmnet:8080', 'sca1002.eqiad.wmnet:9000']);
  const p = sched.stop();
  await clock.advance(1000);
  await p;
});
