// Issue 12: Wikimedia's real eqiad, imported, synced and run. eqiad's pybal.conf is rendered from the
// public catalog as puppet renders it, imported with the real `poolctl import pybal` and conftool-data's
// node file, synced with `poolctl sync` into a real etcd (DEFAULT limits), and run by a real poold
// process: all 116 sections must be published, in etcd and by the API, each over its own conftool pool.
// The imported hosts are pointed at simulated backends by `address:` on each host in the pools/ YAML
// (test/helpers/wmf-site.ts: each host its own 127.80.x.y, as pools/ requires). To stay affordable on a
// shared machine the test keeps a quarter of every pool's hosts (at least one, so every section stays):
// 2,852 (section, host) targets, each with the imported checks and their held idle connections. The full
// size (11,095 targets) is bench/site. A few backends are then stopped (refusing), and exactly the hosts
// on them go down, in the one section that checks that port: the checks run against the simulator.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { prepareWmfSite } from '../helpers/wmf-site.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { ASSUMED_UP_REASON } from '../../src/model/coordinator.js';
import type { PoolState } from '../../src/model/types.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { json, lines, poolctl, spawnPoold, stopPoold, type PooldProcess, text, waitFor } from '../daemon/harness.js';
import { publishedStates } from '../helpers/published.js';

const site = await prepareWmfSite(mkdtempSync(join(tmpdir(), 'poold-wmf-site-')), { scale: 0.25 });
const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: site.backends });
t.teardown(() => sim.stop());
const kv = await openKv({ endpoints: etcd.endpoints }, 'gateway');
t.teardown(() => kv.close());
const keys = new Keys();
async function states(): Promise<Map<string, PoolState>> {
  return publishedStates(kv, 'eqiad', keys);
}
const NAMES = site.services.map((s) => s.name).sort();
const wantsOther = new Set(site.services.filter((s) => s.checks.some((c) => c.kind === 'http' && !c.expect.status.some((r) => r.from <= 200 && 200 <= r.to))).map((s) => s.name));
const TARGETS = site.services.reduce((n, s) => n + Object.keys(s.servers).length, 0);

await t.test('the import is the real site: 116 sections, 44 over kubernetes/kubesvc (240 hosts, 60 kept)', async (t) => {
  t.match(site.importSummary, /0 about essential settings; 0 problem\(s\)/);
  t.equal(site.services.length, 116);
  const kubesvc = site.services.filter((s) => s.pool.cluster === 'kubernetes' && s.pool.service === 'kubesvc');
  t.equal(kubesvc.length, 44);
  t.equal(site.importedHosts['kubernetes/kubesvc'], 240, 'imported with its 240 hosts');
  t.equal(Object.keys(site.importedHosts).length, 52, '52 conftool pools');
  t.equal(Object.keys(kubesvc[0].servers).length, 60);
  t.equal(site.targets, TARGETS);
  t.ok(site.services.every((s) => Object.values(s.servers).every((v) => v.address?.startsWith('127.80.'))), 'every host points at the simulator');
});

await t.test('poolctl sync writes every pool host and every definition within etcd\'s default limits', async (t) => {
  const r = await poolctl(['sync', site.poolsDir, '--yes'], etcd.clientUrl);
  t.match(r.stdout + r.stderr, /kubernetes\/kubesvc/);
  const defs = await kv.range({ key: `${keys.servicesPrefix()}eqiad/`, prefix: true, limit: 1 });
  t.equal(defs.count, 116);
  const hosts = new Set(site.services.flatMap((s) => Object.keys(s.servers).map((h) => `${s.pool.cluster}/${s.pool.service}/${h}`)));
  const admin = await kv.range({ key: `${keys.poolsPrefix()}eqiad/`, prefix: true, limit: 1 });
  t.equal(admin.count, hosts.size, 'one conftool key per (pool, host)');
});

// Started inside the first subtest that needs it: tap ends the root test once its queued subtests are
// done, so a top-level await between subtests would race its teardown (etcd stopped under poold).
let poold: PooldProcess | undefined;
t.teardown(() => (poold ? stopPoold(poold) : undefined));

await t.test('a real poold publishes all 116 sections, each over its pool, and judges every (section, host)', async (t) => {
  poold = await spawnPoold(etcd.clientUrl, 'eqiad-a');
  // The names, so that a timeout says which states are there.
  await waitFor('116 states in etcd', () => states().then((m) => [...m.keys()].sort()), (names) => names.length === 116, 180_000, 1000);
  const published = await states();
  t.same([...published.keys()].sort(), NAMES);
  for (const s of site.services) {
    const st = published.get(s.name)!;
    if (st.pool.cluster !== s.pool.cluster || st.pool.service !== s.pool.service) t.fail(`${s.name}: published over ${st.pool.cluster}/${st.pool.service}`);
    if (Object.keys(st.servers).length !== Object.keys(s.servers).length) t.fail(`${s.name}: ${Object.keys(st.servers).length} hosts published`);
  }
  // Every target's verdict comes from a check (the first runs are spread over the 10 s interval).
  const judged = await waitFor('a verdict for every (section, host)', () => states(), (m) =>
    [...m.values()].every((st) => Object.values(st.servers).every((h) => h.reason !== ASSUMED_UP_REASON)), 240_000, 2000);
  // The simulator answers 200 on every path; a section whose imported check wants another status
  // (prometheus-https expects a 302 redirect) is down on every host, and no other host is.
  t.ok(wantsOther.size >= 1 && wantsOther.size <= 2, `sections expecting another status: ${[...wantsOther].join(', ')}`);
  const down = [...judged.values()].flatMap((st) => Object.entries(st.servers).filter(([, h]) => !h.up).map(([h]) => `${st.name}/${h}`)).sort();
  const expectedDown = [...judged.values()].filter((st) => wantsOther.has(st.name)).flatMap((st) => Object.keys(st.servers).map((h) => `${st.name}/${h}`)).sort();
  t.same(down, expectedDown, 'every other imported check passes against the simulator');
  const reasons = new Set([...judged.values()].filter((st) => wantsOther.has(st.name)).flatMap((st) => Object.values(st.servers).map((h) => h.reason.replace(/ \(\d+ consecutive.*$/, ''))));
  t.same([...reasons], ['http: status 200 (expected 302)'], 'down for the status, as the check says');
  t.equal([...judged.values()].reduce((n, st) => n + Object.keys(st.servers).length, 0), TARGETS);

  const names = await waitFor('116 names in /pools', () => text(`${poold!.url}/pools`), (b) => lines(b).length === 116, 30_000, 500);
  t.same(lines(names), NAMES);
  const v1 = await json<{ pools: { name: string; cluster: string; service: string; revision: number | null }[] }>(`${poold!.url}/v1/pools`);
  t.equal(v1.pools.length, 116);
  t.equal(v1.pools.filter((p) => p.cluster === 'kubernetes' && p.service === 'kubesvc').length, 44);
  t.ok(v1.pools.every((p) => p.revision !== null));
  const apertium = lines(await text(`${poold!.url}/pools/apertium_4737`));
  t.equal(apertium.length, 60, 'PyBal\'s list of a kubesvc section has the pool\'s hosts');
});

await t.test('stopping three simulated backends takes down exactly those hosts, in the one section that checks that port', async (t) => {
  const apertium = site.services.find((s) => s.name === 'apertium_4737')!;
  const stopped = Object.keys(apertium.servers).slice(0, 3);
  for (const h of stopped) await sim.setBehaviour(apertium.servers[h].address!, 4737, 'refused');
  const st = await waitFor('the three apertium hosts down', () => states(), (m) =>
    stopped.every((h) => m.get('apertium_4737')!.servers[h].up === false), 60_000, 1000);
  t.same(Object.entries(st.get('apertium_4737')!.servers).filter(([, h]) => !h.up).map(([h]) => h).sort(), [...stopped].sort());
  const others = [...st.values()].filter((s) => s.name !== 'apertium_4737' && !wantsOther.has(s.name)).flatMap((s) => Object.entries(s.servers).filter(([, h]) => !h.up).map(([h]) => `${s.name}/${h}`));
  t.same(others, [], 'the other 43 kubesvc sections (other ports on the same hosts) are untouched');
  t.same(st.get('apertium_4737')!.pooledDown, [], 'threshold 0.5 lets them leave');
  t.ok(stopped.every((h) => st.get('apertium_4737')!.servers[h].pooled === false), 'depooled');
});
