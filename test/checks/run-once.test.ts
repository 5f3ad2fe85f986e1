// runChecksOnce: every check of every server, a server up only if all its checks are up.
import t from 'tap';
import { NotFoundError } from '../../src/model/errors.js';
import type { ServiceDef } from '../../src/model/types.js';
import { runChecksOnce } from '../../src/checks/run-once.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { httpDef, loopbackAddress, tcpDef } from './check-defs.js';

t.test('a server is up only if all its checks are up; addresses from config or DNS', async (tt) => {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const good = loopbackAddress();
  const bad = loopbackAddress();
  const sim = await startSimulator({
    backends: [
      { address: good, port, behaviour: 'ok', service: 'cxserver' },
      { address: bad, port, behaviour: '404-root', service: 'cxserver' },
      { address: '127.0.0.1', port, behaviour: 'ok', service: 'cxserver' },
    ],
  });
  tt.teardown(() => sim.stop());
  const service: ServiceDef = {
    dc: 'eqiad',
    name: 'cxserver',
    catalog: 'cxserver',
    pool: { cluster: 'sca', service: 'cxserver' },
    lvs: { ip: '10.2.2.18', port, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: 0.5,
    checks: [httpDef({ name: 'root', urls: ['/'] }), tcpDef({ name: 'port' })],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: {},
    servers: {
      'sca1001.eqiad.wmnet': { weight: 10, address: good },
      'sca1002.eqiad.wmnet': { weight: 10, address: bad },
      localhost: { weight: 10 },
      'gone.invalid': { weight: 10 },
    },
  };
  const reports = await runChecksOnce(service);
  const byHost = Object.fromEntries(reports.map((r) => [r.host, r]));
  tt.same(Object.keys(byHost).sort(), ['gone.invalid', 'localhost', 'sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet']);

  tt.equal(byHost['sca1001.eqiad.wmnet'].up, true);
  tt.same(byHost['sca1001.eqiad.wmnet'].results.map((r) => [r.check, r.result.code]), [['root', 'ok'], ['port', 'ok']]);

  const partly = byHost['sca1002.eqiad.wmnet'];
  tt.equal(partly.up, false, 'one failing check is enough to be down (tcp alone is up)');
  tt.same(partly.results.map((r) => [r.check, r.result.up, r.result.message]), [
    ['root', false, 'status 404 (expected 200)'],
    ['port', true, partly.results[1].result.message],
  ]);

  tt.equal(byHost.localhost.address, '127.0.0.1', 'no address: resolved from the host name');
  tt.equal(byHost.localhost.up, true);

  tt.equal(byHost['gone.invalid'].up, false);
  tt.equal(byHost['gone.invalid'].address, '');
  tt.same(byHost['gone.invalid'].results.map((r) => r.result.code), ['dns_failure', 'dns_failure']);

  const only = await runChecksOnce(service, ['sca1002.eqiad.wmnet']);
  tt.same(only.map((r) => r.host), ['sca1002.eqiad.wmnet'], 'hosts selects servers');
  await tt.rejects(runChecksOnce(service, ['nope.eqiad.wmnet']), NotFoundError);
  await tt.rejects(runChecksOnce(service, ['nope.eqiad.wmnet']), /host nope\.eqiad\.wmnet is not a server of eqiad\/cxserver \(pool sca\/cxserver\)/);
});
