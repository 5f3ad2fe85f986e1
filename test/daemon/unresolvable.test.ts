// A backend named only by its host name (no address in pools/) is resolved on every check: a name
// that does not resolve is a down host with reason dns_failure, never an unchecked "assumed up" one.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { lines, poolctl, poolsDir, serviceYaml, startDaemon, text, waitFor } from './harness.js';

t.test('an unresolvable backend name is down with dns_failure', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const sim = await startSimulator({ backends: [1, 2, 3].map((n) => ({ address: `127.35.0.${n}`, port: 18084, behaviour: 'ok' as const })) });
  t.teardown(() => sim.stop());
  const dir = poolsDir({
    'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({
      name: 'dnssvc', cluster: 'dns', ip: '10.2.2.40', port: 18084, threshold: 0.5,
      servers: { 'dns1001.eqiad.wmnet': '127.35.0.1', 'dns1002.eqiad.wmnet': '127.35.0.2', 'dns1003.eqiad.wmnet': '127.35.0.3', 'gone.invalid': '' },
    })}`,
  });
  await poolctl(['sync', dir], etcd.clientUrl);
  const d = await startDaemon(etcd.endpoints, { observer: 'dns-test' });
  t.teardown(() => d.stop());
  const pool = await waitFor('gone.invalid marked down', () => text(`${d.url}/pools/dnssvc_18084`), (b) => /gone\.invalid:\tenabled\/down\/not pooled/.test(b));
  t.same(lines(pool).filter((l) => l.startsWith('dns')).sort(), [
    'dns1001.eqiad.wmnet:\tenabled/up/pooled',
    'dns1002.eqiad.wmnet:\tenabled/up/pooled',
    'dns1003.eqiad.wmnet:\tenabled/up/pooled',
  ]);
  const detail = JSON.parse(await text(`${d.url}/v1/pools/eqiad/dnssvc_18084`)) as { hosts: Array<{ host: string; reason: string }> };
  t.match(detail.hosts.find((h) => h.host === 'gone.invalid')?.reason, /DNS|dns|resolve|ENOTFOUND/i, 'the reason says the name does not resolve');
});
