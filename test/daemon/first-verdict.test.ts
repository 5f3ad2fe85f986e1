// Issue 14 item 5 end to end: real etcd, a real poold (in-process Daemon), simulated backends. At a
// fresh start three backends refuse at once (their verdicts come first) and three answer correctly
// but only after 2 s. Health depools must wait until every server has a first verdict: sampled
// every 50 ms, no host of the gated service is out of the pool while a host still has no
// observation. The same backends behind a second service with the gate off (start_timeout: 0s)
// show the old behaviour in the same run: depools while the slow hosts were still unchecked, which
// is what this sampling catches (so the check would fail if the gate broke). A third service with
// start_timeout 1s depools after 1 s, before the slow hosts answered.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import type { BackendSpec } from '../../src/sim/behaviours.js';
import { json, poolctl, poolsDir, serviceYaml, sleep, startDaemon } from './harness.js';

const A = Array.from({ length: 6 }, (_, i) => `127.0.84.${i + 1}`);
const FAST_FAIL = A.slice(0, 3);
const SLOW_DELAY = 2000;
const SERVICES = [
  { name: 'gated', port: 8094, extra: '' },
  { name: 'ungated', port: 8095, extra: '    start_timeout: 0s\n' },
  { name: 'timeout', port: 8096, extra: '    start_timeout: 1s\n' },
];
const hostsOf = (name: string) => A.map((_, i) => `${name}${1001 + i}.eqiad.wmnet`);

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const backends: BackendSpec[] = SERVICES.flatMap((s) => A.map((address) => FAST_FAIL.includes(address)
  ? { address, port: s.port, behaviour: 'refused' as const }
  : { address, port: s.port, behaviour: 'slow-under' as const, delayMs: SLOW_DELAY }));
const sim = await startSimulator({ backends });
t.teardown(() => sim.stop());
const yaml = SERVICES.map((s) => serviceYaml({ name: s.name, cluster: `fv${s.name}`, ip: `10.9.84.${s.port - 8090}`, port: s.port, threshold: 0.5, servers: Object.fromEntries(hostsOf(s.name).map((h, i) => [h, A[i]])) })
  .replace('    depool_threshold:', `${s.extra}    depool_threshold:`)).join('');
await poolctl(['sync', poolsDir({ 'eqiad.yaml': `dc: eqiad\nservices:\n${yaml}` })], etcd.clientUrl);

interface Detail { firstRound: string; hosts: Array<{ host: string; effective: { pooled: boolean }; observers: Record<string, unknown> }> }

const startedAt = Date.now();
const d = await startDaemon(etcd.endpoints, { observer: 'fv-a' });
t.teardown(() => d.stop());

/** Per service: the first sample with a host out of the pool, and whether every host had an observation then. */
const seen = new Map<string, { at: number; unverdicted: string[]; firstRound: string }>();
const rounds = new Map<string, Set<string>>();
const deadline = Date.now() + 20_000;
while (Date.now() < deadline && seen.size < SERVICES.length) {
  for (const s of SERVICES) {
    if (seen.has(s.name)) continue;
    let v: Detail;
    try {
      v = await json<Detail>(`${d.url}/v1/pools/eqiad/${s.name}_${s.port}`);
    } catch {
      continue; // not published yet
    }
    if (v.hosts === undefined) continue;
    rounds.set(s.name, (rounds.get(s.name) ?? new Set()).add(v.firstRound));
    const out = v.hosts.filter((h) => !h.effective.pooled);
    if (out.length === 0) continue;
    seen.set(s.name, { at: Date.now() - startedAt, unverdicted: v.hosts.filter((h) => Object.keys(h.observers).length === 0).map((h) => h.host), firstRound: v.firstRound });
  }
  await sleep(50);
}

t.test('gated: no depool until every server has a first verdict', async (t) => {
  const g = seen.get('gated');
  t.ok(g, 'the failing hosts were depooled in the end');
  t.same(g?.unverdicted, [], 'every host had a verdict when the first depool was published');
  t.ok([...(rounds.get('gated') ?? [])].some((r) => /^pending \d of 6$/.test(r)), `/v1 showed the pending first round (${[...(rounds.get('gated') ?? [])].join(', ')})`);
});

t.test('ungated (start_timeout 0s, the old behaviour): depooled on a partial picture, which the sampling sees', async (t) => {
  const u = seen.get('ungated');
  t.ok(u, 'depooled');
  t.ok((u?.unverdicted.length ?? 0) > 0, `a depool while hosts were still unchecked: ${JSON.stringify(u)}`);
});

t.test('timeout (start_timeout 1s): the round ends by time, before the slow hosts answered', async (t) => {
  const x = seen.get('timeout');
  t.ok(x, 'depooled');
  t.ok((x?.unverdicted.length ?? 0) > 0, `depooled by the timeout, slow hosts still unchecked: ${JSON.stringify(x)}`);
  t.ok((x?.at ?? 0) >= 1000, `not before the 1 s timeout (${x?.at} ms after start)`);
});
