// Rolling operations end to end (real etcd, real poold, simulated backends, poolctl as a process):
// a bad deploy on host 2 stops the rollout there; host 2 stays depooled, hosts 3 and 4 are untouched.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { ROOT, runPoolctl } from '../helpers/poolctl.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { startControl } from '../../src/sim/control.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/daemon/logger.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { splitCommand } from '../../src/cli/rolling.js';
import { publishedState } from '../helpers/published.js';

const PORT = 18080;
const addr = (n: number) => `127.31.0.${n}`;
const POOLS = `dc: eqiad
services:
  appservers:
    cluster: appserver
    lvs: { ip: 10.2.2.1, port: ${PORT} }
    depool_threshold: 0.5
    checks:
      - { kind: http, path: /_info, expect: { body: { non_empty: true } }, timeout: 500ms, interval: 200ms, rise: 2, fall: 1 }
    servers:
${[1, 2, 3, 4].map((n) => `      mw100${n}.eqiad.wmnet: { weight: 10, address: ${addr(n)} }`).join('\n')}
`;

t.test('splitCommand splits like a shell without running one', async (t) => {
  t.same(splitCommand(`node x.mjs 'a b' "c \\"d\\"" e\\ f {host}`), ['node', 'x.mjs', 'a b', 'c "d"', 'e f', '{host}']);
  t.throws(() => splitCommand(`echo 'oops`), /unterminated/);
});

t.test('a rolling deploy that breaks host 2 stops there', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const sim = await startSimulator({ backends: [1, 2, 3, 4].map((n) => ({ address: addr(n), port: PORT, behaviour: 'ok' as const })) });
  t.teardown(() => sim.stop());
  const control = await startControl(sim, '127.0.0.1', 0);
  t.teardown(() => control.close());
  const dir = mkdtempSync(join(tmpdir(), 'poold-rolling-'));
  writeFileSync(join(dir, 'eqiad.yaml'), POOLS);
  const env = { POOLD_ETCD: etcd.clientUrl };
  t.equal((await runPoolctl(['sync', dir], env)).code, 0);
  const daemon = new Daemon({ etcd: { endpoints: etcd.endpoints }, observer: 'rolling-test', quorum: 'majority', host: '127.0.0.1', port: 0, leaseTtlSeconds: 2, log: createLogger('error') });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const kv = new GatewayKv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());

  // Wait until poold has published all four hosts pooled and up.
  const pooledUp = async () => {
    const s = await publishedState(kv, 'eqiad/appservers_18080');
    return s ? Object.values(s.servers).filter((x) => x.pooled && x.up).length : 0;
  };
  for (let i = 0; i < 100 && (await pooledUp()) < 4; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(await pooledUp(), 4, 'all four serving before the rollout');

  const deploy = join(ROOT, 'test', 'fixtures', 'fake-deploy.mjs');
  const ctl = `http://${control.address}:${control.port}`;
  // The "new code" is fine on every host but 127.31.0.2, where it answers 200 with an empty body (RESTBase-style).
  const script = join(dir, 'deploy.sh.mjs');
  writeFileSync(script, `const a = process.argv[2]; const b = a === '${addr(2)}' ? 'empty-200' : 'ok';
const { spawnSync } = await import('node:child_process');
process.exit(spawnSync(process.execPath, [${JSON.stringify(deploy)}, ${JSON.stringify(ctl)}, a + ':${PORT}', b], { stdio: 'inherit' }).status ?? 1);\n`);
  const r = await runPoolctl(['rolling', 'appservers', '--command', `${process.execPath} ${script} {address}`,
    '--yes', '--json', '--reason', 'deploy T1', '--health-timeout', '3s', '--state-timeout', '10s'], env, { timeoutMs: 60_000 });
  t.equal(r.code, 1, 'the rollout failed');
  const summary = JSON.parse(r.stdout);
  t.same(summary.hosts.map((h: { host: string; status: string }) => [h.host, h.status]), [
    ['mw1001.eqiad.wmnet', 'done'],
    ['mw1002.eqiad.wmnet', 'failed'],
    ['mw1003.eqiad.wmnet', 'untouched'],
    ['mw1004.eqiad.wmnet', 'untouched'],
  ]);
  t.equal(summary.hosts[1].step, 'wait-healthy');
  t.match(summary.hosts[1].error, /empty body/);
  t.match(r.stderr, /\[2\/4\] mw1002.*FAILED at wait-healthy/s, 'progress shows where it stopped');

  const admin = async (h: string) => JSON.parse((await kv.get(`/conftool/v1/pools/eqiad/appserver/appservers/${h}`))!.value);
  t.same(await admin('mw1001.eqiad.wmnet'), { weight: 10, pooled: 'yes' }, 'host 1 repooled');
  t.same(await admin('mw1002.eqiad.wmnet'), { weight: 10, pooled: 'no' }, 'host 2 left depooled');
  // Hosts 3 and 4: never written (only sync's creation is in the audit log for them).
  const audit = await runPoolctl(['audit', '--limit', '100', '--json'], env);
  const touched = new Set(JSON.parse(audit.stdout).filter((a: { reason: string }) => a.reason === 'deploy T1').map((a: { key: string }) => a.key.split('/').pop()));
  t.same([...touched].sort(), ['mw1001.eqiad.wmnet', 'mw1002.eqiad.wmnet']);
  t.equal(sim.stats(addr(3), PORT).behaviour, 'ok', 'host 3 got no deploy');
});
