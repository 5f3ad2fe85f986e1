// Issue 12's size proof: one 500-host conftool pool (two LVS services over it) and 200 small pools
// (4 hosts, one service each) are synced with the real poolctl, run by a real poold process against
// simulated backends, and published, all against an etcd with its DEFAULT limits (the harness never
// raises max-txn-ops or max-request-bytes: a sync or a select of 500 hosts in one transaction would be
// refused, so landing them proves the chunking). Every (service, host) is checked: a few backends
// refuse, and exactly those hosts are published down; every other host carries a check's verdict, not
// the coordinator's "assumed up". Then one `poolctl select` over all 500 hosts writes them all, and both
// services over the big pool publish the change. Heavy (1,800 targets), hence test/serial.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { ASSUMED_UP_REASON } from '../../src/model/coordinator.js';
import type { PoolState } from '../../src/model/types.js';
import { startSimulator } from '../../src/sim/simulator.js';
import type { BackendSpec } from '../../src/sim/behaviours.js';
import { json, lines, poolctl, poolsDir, spawnPoold, stopPoold, type PooldProcess, text, waitFor } from '../daemon/harness.js';
import { publishedStates } from '../helpers/published.js';

const BIG = Array.from({ length: 500 }, (_, i) => ({ host: `big${String(i + 1).padStart(3, '0')}.eqiad.wmnet`, address: `127.61.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
const BIG_SECTIONS = [{ name: 'bigweb', port: 33080 }, { name: 'bigapi', port: 33443 }];
const SMALL = Array.from({ length: 200 }, (_, p) => ({
  pool: `small/s${String(p).padStart(3, '0')}`,
  name: `s${String(p).padStart(3, '0')}`,
  port: 34000 + p,
  hosts: Array.from({ length: 4 }, (_, h) => ({ host: `sm${String(p).padStart(3, '0')}-${h + 1}.eqiad.wmnet`, address: `127.62.${p}.${h + 1}` })),
}));
const section = (name: string, port: number) => `${name}_${port}`;
const ALL_SECTIONS = [...BIG_SECTIONS.map((s) => section(s.name, s.port)), ...SMALL.map((s) => section(s.name, s.port))].sort();
// The backends that refuse: these (service, host) pairs, and only these, must be published down.
const REFUSING = new Set([`bigweb_33080/${BIG[6].host}`, `bigapi_33443/${BIG[499].host}`, `s013_34013/${SMALL[13].hosts[1].host}`, `s199_34199/${SMALL[199].hosts[3].host}`]);

// Long intervals: 1,800 targets on a loaded 2-core machine; the first runs are staggered over one interval.
const CHECK = '      - { kind: tcp, interval: 20s, timeout: 5s, rise: 1, fall: 1 }';
const yaml = [
  'dc: eqiad',
  'pools:',
  '  big/web:',
  '    servers:',
  ...BIG.map((b) => `      ${b.host}: { weight: 10, address: ${b.address} }`),
  ...SMALL.flatMap((s) => [`  ${s.pool}:`, '    servers:', ...s.hosts.map((h) => `      ${h.host}: { weight: 10, address: ${h.address} }`)]),
  'services:',
  ...BIG_SECTIONS.flatMap((s, i) => [`  ${s.name}:`, '    pool: big/web', `    lvs: { ip: 10.9.0.${i + 1}, port: ${s.port} }`, '    depool_threshold: 0.5', '    checks:', CHECK]),
  ...SMALL.flatMap((s, i) => [`  ${s.name}:`, `    pool: ${s.pool}`, `    lvs: { ip: 10.9.${1 + (i >> 8)}.${(i & 0xff) + 1}, port: ${s.port} }`, '    depool_threshold: 0.5', '    checks:', CHECK]),
  '',
].join('\n');

const backends: BackendSpec[] = [
  ...BIG_SECTIONS.flatMap((s) => BIG.map((b) => ({ address: b.address, port: s.port, behaviour: REFUSING.has(`${section(s.name, s.port)}/${b.host}`) ? 'refused' as const : 'ok' as const }))),
  ...SMALL.flatMap((s) => s.hosts.map((h) => ({ address: h.address, port: s.port, behaviour: REFUSING.has(`${section(s.name, s.port)}/${h.host}`) ? 'refused' as const : 'ok' as const }))),
];

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends });
t.teardown(() => sim.stop());
const kv = await openKv({ endpoints: etcd.endpoints }, 'gateway');
t.teardown(() => kv.close());
const keys = new Keys();
const count = async (prefix: string) => (await kv.range({ key: prefix, prefix: true, limit: 1 })).count;
async function states(): Promise<Map<string, PoolState>> {
  return publishedStates(kv, 'eqiad', keys);
}

await t.test('sync of 1,300 hosts in 201 pools and 202 services lands whole within etcd\'s default limits', async (t) => {
  const r = await poolctl(['sync', poolsDir({ 'eqiad.yaml': yaml }), '--yes'], etcd.clientUrl);
  t.match(r.stdout + r.stderr, /big\/web/);
  t.equal(await count(`${keys.poolsPrefix()}eqiad/big/web/`), 500, 'every host of the big pool');
  t.equal(await count(`${keys.poolsPrefix()}eqiad/small/`), 800, 'every host of the small pools');
  t.equal(await count(`${keys.servicesPrefix()}eqiad/`), 202, 'one definition per LVS service');
});

// Started inside the first subtest that needs it: tap ends the root test once its queued subtests are
// done, so a top-level await between subtests would race its teardown (etcd stopped under poold).
let poold: PooldProcess | undefined;
t.teardown(() => (poold ? stopPoold(poold) : undefined));

await t.test('every service is published, and every (service, host) carries its own check\'s verdict', async (t) => {
  poold = await spawnPoold(etcd.clientUrl, 'site-a');
  // The names, so that a timeout says which states are there.
  await waitFor('202 states in etcd', () => states().then((m) => [...m.keys()].sort()), (names) => names.length === 202, 120_000, 1000);
  const published = await states();
  t.same([...published.keys()].sort(), ALL_SECTIONS, 'one state per LVS service');
  // Wait until no host is "assumed up": each has an observation from a check (first runs are spread over 20 s).
  const observed = await waitFor('a verdict for all 1,800 targets', () => states(), (m) => m.size === 202 && [...m.values()].every((s) => Object.values(s.servers).every((h) => h.reason !== ASSUMED_UP_REASON)), 150_000, 2000);
  const sizes = [...observed.values()].map((s) => Object.keys(s.servers).length);
  t.equal(sizes.reduce((a, b) => a + b, 0), 1800, '2 × 500 + 200 × 4 targets');
  for (const s of BIG_SECTIONS) t.equal(Object.keys(observed.get(section(s.name, s.port))!.servers).length, 500, `${s.name}: 500 hosts`);
  const down = [...observed.values()].flatMap((s) => Object.entries(s.servers).filter(([, h]) => !h.up).map(([host]) => `${s.name}/${host}`)).sort();
  t.same(down, [...REFUSING].sort(), 'exactly the refusing backends are down');
  const pooled = [...observed.values()].reduce((n, s) => n + Object.values(s.servers).filter((h) => h.pooled).length, 0);
  t.equal(pooled, 1800 - REFUSING.size, 'every other host pooled');

  // The API serves the same: /pools (PyBal's list) and /v1/pools.
  const names = await waitFor('202 names in /pools', () => text(`${poold!.url}/pools`), (b) => lines(b).length === 202, 30_000, 500);
  t.same(lines(names), ALL_SECTIONS);
  const v1 = await json<{ pools: { name: string; cluster: string; service: string; revision: number | null }[] }>(`${poold!.url}/v1/pools`);
  t.same(v1.pools.map((p) => p.name).sort(), ALL_SECTIONS);
  t.ok(v1.pools.every((p) => p.revision !== null), 'each with a published revision');
  t.same(v1.pools.filter((p) => p.cluster === 'big').map((p) => p.name).sort(), ['bigapi_33443', 'bigweb_33080']);
  const s013 = lines(await text(`${poold!.url}/pools/s013_34013`));
  t.same(s013.filter((l) => l.includes('/down/')).map((l) => l.split(':')[0]), [SMALL[13].hosts[1].host], 'PyBal\'s list names the down host');
});

await t.test('poolctl select over all 500 hosts writes them all, and both services over the pool publish it', async (t) => {
  const r = await poolctl(['select', 'service=web,name=big.*', 'set/weight=7', '--yes'], etcd.clientUrl);
  t.match(r.stdout + r.stderr, /500/);
  const admin = await kv.range({ key: `${keys.poolsPrefix()}eqiad/big/web/`, prefix: true });
  t.equal(admin.kvs.filter((e) => JSON.parse(e.value).weight === 7).length, 500, 'every conftool key written');
  const after = await waitFor('weight 7 published for 500 hosts in both services', () => states(), (m) =>
    BIG_SECTIONS.every((s) => { const st = m.get(section(s.name, s.port)); return st !== undefined && Object.values(st.servers).filter((h) => h.weight === 7).length === 500; }), 60_000, 1000);
  t.ok([...after.values()].filter((s) => s.pool.cluster === 'small').every((s) => Object.values(s.servers).every((h) => h.weight === 10)), 'the small pools are untouched');

  // Depool all 500 but keep the guard honest: at threshold 0.5, depooling every host is refused with nothing written.
  const refused = await runPoolctl(['select', 'service=web,name=big.*', 'depool', '--yes'], { POOLD_ETCD: etcd.clientUrl });
  t.equal(refused.code, 3, 'refused by the threshold guard');
  const still = await kv.range({ key: `${keys.poolsPrefix()}eqiad/big/web/`, prefix: true });
  t.equal(still.kvs.filter((e) => JSON.parse(e.value).pooled === 'yes').length, 500, 'nothing written');
});
