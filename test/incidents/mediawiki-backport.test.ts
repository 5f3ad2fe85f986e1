// Incident replay: MediaWiki backport. Code and config reached the hosts out of step and the canary
// did not stop the rollout. `poolctl rolling` works one host at a time (depool, act, wait for the
// checks, repool) and stops at the first host whose checks fail: the rest keep their admin values
// and their IPVS entries, untouched.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startScenario, waitAllServing } from '../helpers/scenario.js';
import { ROOT } from '../helpers/poolctl.js';
import { startControl } from '../../src/sim/control.js';

const PORT = 18154;
const VIP = '10.2.1.1';
/** The conftool pool (dc/cluster/service) whose admin values the rollout writes. */
const PATH = 'eqiad/appserver/appservers';
/** The LVS service (PyBal section) over that pool: pools/ service `appservers` on PORT. */
const SECTION = `eqiad/appservers_${PORT}`;
const addr = (n: number) => `127.54.0.${n}`;
const host = (n: number) => `mw100${n}.eqiad.wmnet`;

const POOLS = `dc: eqiad
services:
  appservers:
    cluster: appserver
    lvs: { ip: ${VIP}, port: ${PORT} }
    depool_threshold: 0.5
    checks:
      - kind: http
        path: /_info
        expect: { body: { json: { path: status, equals: ok } } }
        timeout: 500ms
        interval: 200ms
        rise: 2
        fall: 1
    servers:
${[1, 2, 3, 4].map((n) => `      ${host(n)}: { weight: 10, address: ${addr(n)} }`).join('\n')}
`;

t.test('a backport that leaves host 2 inconsistent stops the rollout there; hosts 3 and 4 untouched', async (t) => {
  const s = await startScenario(t, {
    pools: POOLS,
    backends: [1, 2, 3, 4].map((n) => ({ address: addr(n), port: PORT, behaviour: 'ok' as const, service: 'mediawiki' })),
  });
  const control = await startControl(s.sim, '127.0.0.1', 0);
  t.teardown(() => control.close());
  await waitAllServing(s, SECTION, 4, VIP, PORT);

  const adminBefore = await Promise.all([3, 4].map(async (n) => (await s.kv.get(`/conftool/v1/pools/${PATH}/${host(n)}`))!));
  const tableBefore = s.table(VIP, PORT);
  const linesBefore = s.ipvsLines().length;

  // The "sync": fine everywhere but 127.54.0.2, where new config meets old code and /_info says
  // {"status":"maintenance"} with a 200 (the canary's status-only check would have passed it).
  const deploy = join(ROOT, 'test', 'fixtures', 'fake-deploy.mjs');
  const script = join(s.dir, 'backport.mjs');
  writeFileSync(script, `const a = process.argv[2];
const { spawnSync } = await import('node:child_process');
const b = a === '${addr(2)}' ? 'wrong-body' : 'ok';
process.exit(spawnSync(process.execPath, [${JSON.stringify(deploy)}, ${JSON.stringify(`http://${control.address}:${control.port}`)}, a + ':${PORT}', b], { stdio: 'inherit' }).status ?? 1);\n`);
  const r = await s.poolctl(['rolling', 'appservers', '--command', `${process.execPath} ${script} {address}`, '--yes', '--json',
    '--reason', 'backport T2', '--health-timeout', '5s', '--state-timeout', '15s'], {}, 80_000);
  t.equal(r.code, 1, 'the rollout reports failure');
  const summary = JSON.parse(r.stdout) as { hosts: { host: string; status: string; step?: string; error?: string }[] };
  t.same(summary.hosts.map((h) => [h.host, h.status]), [[host(1), 'done'], [host(2), 'failed'], [host(3), 'untouched'], [host(4), 'untouched']]);
  t.equal(summary.hosts[1].step, 'wait-healthy', 'it stopped because the checks failed');
  t.match(summary.hosts[1].error, /JSON status is "maintenance" \(expected "ok"\)/, 'and says why');

  // Hosts 3 and 4: same etcd values at the same mod revisions, same IPVS entries, no ipvsadm line.
  for (const [i, n] of [3, 4].entries()) {
    const now = (await s.kv.get(`/conftool/v1/pools/${PATH}/${host(n)}`))!;
    t.same([now.value, now.modRevision], [adminBefore[i].value, adminBefore[i].modRevision], `${host(n)} admin value never written`);
    t.equal(s.table(VIP, PORT)[addr(n)], tableBefore[addr(n)], `${host(n)} IPVS entry unchanged`);
  }
  t.notOk(s.ipvsLines().slice(linesBefore).some((l) => l.includes(addr(3)) || l.includes(addr(4))), 'no ipvsadm command touched hosts 3 and 4');
  t.equal(s.sim.stats(addr(3), PORT).behaviour, 'ok', 'host 3 never got the backport');
  t.equal(s.sim.stats(addr(4), PORT).behaviour, 'ok', 'host 4 never got the backport');
  // Host 2 stays out of the pool (admin no), host 1 back in.
  t.same(JSON.parse((await s.kv.get(`/conftool/v1/pools/${PATH}/${host(2)}`))!.value), { weight: 10, pooled: 'no' });
  t.same(JSON.parse((await s.kv.get(`/conftool/v1/pools/${PATH}/${host(1)}`))!.value), { weight: 10, pooled: 'yes' });
  t.notOk(addr(2) in s.table(VIP, PORT), 'host 2 is out of IPVS');
  t.ok(addr(1) in s.table(VIP, PORT), 'host 1 is back in IPVS');
});
