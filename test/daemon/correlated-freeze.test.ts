// Issue 14 item 3 end to end: real etcd, a real poold (in-process Daemon), ten simulated backends.
// Eight of them start failing the same check at once: /alerts is CRITICAL "correlated failure" and
// poold_correlated_failure is 1. `poolctl freeze` (audited) then keeps every failing host pooled
// until the freeze ends by itself, after which the threshold depools them again; `unfreeze` ends a
// freeze early; bad input exits 2.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { json, poolctl, poolsDir, serviceYaml, startDaemon, text, waitFor } from './harness.js';

const PORT = 8093;
const N = 10;
const A = Array.from({ length: N }, (_, i) => `127.0.83.${i + 1}`);
const H = Array.from({ length: N }, (_, i) => `cf${1001 + i}.eqiad.wmnet`);
const FAILING = A.slice(0, 8);
const SVC = 'corrsvc_8093';
const PATH = `eqiad/${SVC}`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
// Threshold 0.2: two up servers of ten may carry the pool, so the threshold alone depools all eight.
// Checks every second: the eight go down within one interval even on a loaded machine (the window is 1.5 s).
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'corrsvc', cluster: 'cfc', ip: '10.9.83.1', port: PORT, threshold: 0.2, interval: '1s', servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);
const d = await startDaemon(etcd.endpoints, { observer: 'cf-a' });
t.teardown(() => d.stop());

interface HostRow { host: string; effective: { up: boolean; pooled: boolean } }
interface Detail { firstRound: string; freeze: { actor: string; reason: string; until: number } | null; correlatedFailure: { failed: number; total: number; label: string } | null; hosts: HostRow[] }
const detail = () => json<Detail>(`${d.url}/v1/pools/${PATH}`);
const alerts = () => text(`${d.url}/alerts`);
const pooled = (v: Detail) => v.hosts.filter((h) => h.effective.pooled).length;
const downCount = (v: Detail) => v.hosts.filter((h) => !h.effective.up).length;
const metric = async (name: string) => {
  const m = new RegExp(`^${name}\\{dc="eqiad",service="${SVC}"\\} (\\S+)$`, 'm').exec(await text(`${d.url}/metrics`));
  return m === null ? undefined : Number(m[1]);
};
const setFailing = (behaviour: 'refused' | 'ok') => Promise.all(FAILING.map((a) => sim.setBehaviour(a, PORT, behaviour)));
const CORRELATED = `CRITICAL - ${PATH}: correlated failure: 8 of 10 servers failed check http / within 1 interval; likely the check or a shared dependency, not the servers`;

t.test('ten up and pooled, first round done', async (t) => {
  const v = await waitFor('10 pooled, round done', detail, (x) => x.hosts.length === N && pooled(x) === N && downCount(x) === 0 && x.firstRound === 'done', 20_000);
  t.equal(v.firstRound, 'done');
  t.equal(await alerts(), 'OK - All pools are healthy');
  t.equal(await metric('poold_correlated_failure'), 0);
});

t.test('8 of 10 fail the same check at once: CRITICAL correlated failure, metric 1; the threshold depools them', async (t) => {
  await setFailing('refused');
  const body = await waitFor('correlated alert', alerts, (b) => b === CORRELATED, 15_000);
  t.equal(body, CORRELATED);
  t.equal(await metric('poold_correlated_failure'), 1);
  const v = await waitFor('8 depooled', detail, (x) => pooled(x) === 2);
  t.match(v.correlatedFailure, { failed: 8, total: 10, label: 'http /' });
  await setFailing('ok');
  await waitFor('recovered', alerts, (b) => b === 'OK - All pools are healthy', 15_000);
  t.equal(await metric('poold_correlated_failure'), 0);
  await waitFor('10 pooled again', detail, (x) => pooled(x) === N);
});

t.test('bad freeze input: exit 2 with a clear message, nothing written', async (t) => {
  const env = { POOLD_ETCD: etcd.clientUrl };
  const cases: Array<[string[], RegExp]> = [
    [['freeze', 'eqiad/nosuch_80', '--for', '5m', '--reason', 'x'], /unknown LVS service 'eqiad\/nosuch_80'/],
    [['freeze', PATH, '--for', 'soon', '--reason', 'x'], /bad duration 'soon'/],
    [['freeze', PATH, '--for', '25h', '--reason', 'x'], /at most 24h/],
    [['freeze', PATH, '--for', '5m'], /--reason/],
    [['freeze', PATH, '--reason', 'x'], /--for/],
  ];
  for (const [args, msg] of cases) {
    const r = await runPoolctl(args, env);
    t.equal(r.code, 2, `${args.join(' ')} exits 2`);
    t.match(r.stderr, msg);
  }
  const audit = JSON.parse((await poolctl(['audit', '--key', '/poold/v1/freeze/', '--json'], etcd.clientUrl)).stdout) as unknown[];
  t.same(audit, [], 'no freeze was written');
});

t.test('freeze: every host stays pooled while 8 fail, until the freeze ends by itself; then the threshold applies', async (t) => {
  const FOR_MS = 8000;
  const r = await poolctl(['freeze', PATH, '--for', '8s', '--reason', 'check page too slow'], etcd.clientUrl);
  t.match(r.stdout, /froze eqiad\/corrsvc_8093 for 8s: health depools frozen by tester until .*: check page too slow/);
  const frozen = await waitFor('freeze in the state', detail, (x) => x.freeze !== null);
  const until = frozen.freeze!.until;
  t.match(frozen.freeze, { actor: 'tester', reason: 'check page too slow' });
  const warning = await alerts();
  t.match(warning, new RegExp(`^WARNING - ${PATH}: health depools frozen by tester until \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z: check page too slow\\. $`));
  t.equal(await metric('poold_health_depools_frozen'), 1);
  const status = await poolctl(['status', SVC], etcd.clientUrl);
  t.match(status.stdout, /FROZEN: health depools frozen by tester until .*: check page too slow/);

  await setFailing('refused');
  // Sample until the freeze has ended: while it holds, all ten stay pooled although eight are down.
  let sawEightDown = false;
  let left: string | undefined;
  while (Date.now() < until - 200 && left === undefined) {
    const v = await detail();
    if (downCount(v) === 8) sawEightDown = true;
    if (pooled(v) !== N) left = `${v.hosts.filter((h) => !h.effective.pooled).map((h) => h.host).join(', ')}, ${until - Date.now()} ms before the freeze ended`;
    await new Promise((res) => setTimeout(res, 100));
  }
  t.equal(left, undefined, 'no host left the pool while frozen');
  t.ok(sawEightDown, 'the eight were seen down (and pooled) during the freeze');
  t.equal(await alerts(), `CRITICAL - corrsvc_8093: Servers ${H.slice(0, 8).join(', ')} are marked down but pooled; ${CORRELATED.slice('CRITICAL - '.length)}`,
    'CRITICAL (PyBal\'s own, then the correlated failure) wins over the freeze warning');
  const after = await waitFor('8 depooled after the freeze', detail, (x) => pooled(x) === 2, 10_000);
  t.ok(Date.now() >= until, 'not before the freeze ended');
  t.equal(after.freeze, null);
  t.equal(await metric('poold_health_depools_frozen'), 0);
  t.equal(FOR_MS, until - (frozen.freeze as unknown as { since: number }).since);

  const audit = JSON.parse((await poolctl(['audit', '--key', '/poold/v1/freeze/', '--json'], etcd.clientUrl)).stdout) as Array<{ actor: string; reason: string; key: string; after: { until: number } }>;
  t.equal(audit.length, 1);
  t.match(audit[0], { actor: 'tester', reason: 'check page too slow', key: `/poold/v1/freeze/${PATH}`, after: { until } });
});

t.test('a freeze survives a poold restart with the same end; unfreeze ends it early', async (t) => {
  await setFailing('ok');
  await waitFor('10 pooled', detail, (x) => pooled(x) === N, 15_000);
  await poolctl(['freeze', PATH, '--for', '10m', '--reason', 'maintenance of the check'], etcd.clientUrl);
  const v1 = await waitFor('frozen', detail, (x) => x.freeze !== null);
  await d.stop();
  const d2 = await startDaemon(etcd.endpoints, { observer: 'cf-b' });
  t.teardown(() => d2.stop());
  const again = await waitFor('frozen after restart', () => json<Detail>(`${d2.url}/v1/pools/${PATH}`), (x) => x.freeze !== null && x.firstRound === 'done', 20_000);
  t.equal(again.freeze!.until, v1.freeze!.until, 'same end time after a restart');
  await setFailing('refused');
  await waitFor('8 down, all pooled', () => json<Detail>(`${d2.url}/v1/pools/${PATH}`), (x) => downCount(x) === 8 && pooled(x) === N, 15_000);
  const un = await poolctl(['unfreeze', PATH, '--reason', 'check fixed'], etcd.clientUrl);
  t.match(un.stdout, /unfroze eqiad\/corrsvc_8093/);
  const v = await waitFor('8 depooled after unfreeze', () => json<Detail>(`${d2.url}/v1/pools/${PATH}`), (x) => pooled(x) === 2, 10_000);
  t.equal(v.freeze, null);
});
