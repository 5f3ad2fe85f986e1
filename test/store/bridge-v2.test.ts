// The v2 bridge against Debian's etcd 3.4 with --enable-v2. The v2 writers are the real ones:
// Debian's etcdctl with ETCDCTL_API=2 writing conftool's bytes, and python-etcd doing conftool's
// read-merge-json.dumps-CAS (test/fixtures/confctl-v2.py). The v3 writer is poolctl's store path
// (updateHosts). Shown: both directions within 1 s, no loop (the bridge's own writes do not
// bounce: etcd's write counters), deletes both ways, confctl's directory read working on an etcd
// only v3 wrote, a deterministic winner for concurrent changes of one field (either authority),
// the base surviving a restart, and no lost update under 50 concurrent writers on both APIs.
import t, { type Test } from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { confctlV2, confctlV2AtBarrier } from '../helpers/confctl.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import type { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import type { Kv } from '../../src/store/kv.js';
import { listAudit } from '../../src/store/audit.js';
import { updateHosts } from '../../src/store/write.js';
import { V2Client } from '../../src/store/v2-client.js';
import { BRIDGE_ACTOR, ConftoolV2Bridge, type BridgeLog } from '../../src/store/bridge-v2.js';
import type { BridgeSide } from '../../src/store/bridge-v2-merge.js';

const etcd = await startEtcd({ enableV2: true });
t.teardown(() => etcd.stop());
const gw = await openKv({ endpoints: etcd.endpoints }, 'gateway');
const grpc = (await openKv({ endpoints: etcd.endpoints }, 'etcd3')) as Etcd3Kv;
const v2 = new V2Client({ endpoints: etcd.endpoints });
t.teardown(async () => {
  await v2.close();
  await gw.close();
  await grpc.close();
});

interface Logged { level: string; obj: object; msg: string }
function captureLog(into: Logged[]): BridgeLog {
  const rec = (level: string) => (obj: object, msg: string) => { into.push({ level, obj, msg }); };
  return { info: rec('info'), warn: rec('warn'), error: rec('error') };
}

async function startBridge(t: Test, o: { keys: Keys; authority?: BridgeSide; kv?: Etcd3Kv; client?: V2Client; log?: Logged[] }): Promise<ConftoolV2Bridge> {
  const b = new ConftoolV2Bridge({
    v2: o.client ?? v2, kv: o.kv ?? grpc, keys: o.keys, authority: o.authority, log: captureLog(o.log ?? []), resyncMs: 60_000,
  });
  await b.start();
  t.teardown(() => b.stop());
  return b;
}

let n = 0;
/** A fresh conftool/poold root per test, so tests do not see each other's keys. */
const layout = () => {
  n++;
  return new Keys({ conftool: `/t${n}/conftool/v1`, poold: `/t${n}/poold/v1` });
};
const hostKey = (keys: Keys, host = 'sca1002.eqiad.wmnet', service = 'cxserver') => keys.host({ dc: 'eqiad', cluster: 'sca', service, host });
const put3 = (kv: Kv, key: string, value: string) => kv.txn({ compare: [], success: [{ type: 'put', key, value }] });

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const v3Value = async (key: string, kv: Kv = gw) => (await kv.get(key))?.value;
const v2Value = async (key: string, c: V2Client = v2) => (await c.getLeaf(key))?.value;

t.test('a confctl-style write in v2 reaches v3, and a poolctl write in v3 reaches v2, each within 1 s', async (t) => {
  const keys = new Keys(); // the real /conftool/v1 root, as confctl and PyBal use it
  const key = hostKey(keys);
  await put3(gw, key, '{"weight": 10, "pooled": "yes"}'); // as `poolctl sync` created it
  await startBridge(t, { keys });
  t.equal(await until('the host to appear in v2', () => v2Value(key), (v) => v !== undefined),
    '{"weight": 10, "pooled": "yes"}', 'a host only v3 had is created in v2');

  // confctl select 'name=sca1002.*' set/pooled=no, as conftool writes it (etcdctl's process start
  // counts in this figure, so it is reported, not asserted):
  let t0 = Date.now();
  await etcd.etcdctlV2(['set', key, '{"weight": 7, "pooled": "no"}']);
  await until('v3 to show the v2 write', () => v3Value(key), (v) => v === '{"weight": 7, "pooled": "no"}', 5000);
  t.comment(`etcdctl set -> visible in v3: ${Date.now() - t0} ms, etcdctl start-up included`);
  // The copy carries an audit record at the same revision, naming the bridge.
  const e3 = await gw.get(key);
  const [rec] = await listAudit(gw, keys, { limit: 1, keyPrefix: key });
  t.same({ actor: rec.actor, revision: rec.revision, before: rec.before, after: rec.after },
    { actor: BRIDGE_ACTOR, revision: e3!.modRevision, before: { weight: 10, pooled: 'yes' }, after: { weight: 7, pooled: 'no' } });

  // The same v2 write timed from the request (python-etcd's update: a PUT with prevIndex).
  const idx = (await v2.getLeaf(key))!.modifiedIndex;
  t0 = Date.now();
  await v2.set(key, '{"weight": 7, "pooled": "inactive"}', { prevIndex: idx });
  await until('v3 to show the v2 CAS write', () => v3Value(key), (v) => v === '{"weight": 7, "pooled": "inactive"}', 5000);
  const toV3 = Date.now() - t0;
  t.ok(toV3 < 1000, `v2 -> v3 in ${toV3} ms (< 1 s)`);

  // poolctl pool sca1002 (the v3 store path), read back the way PyBal's etcd:// and confctl read.
  t0 = Date.now();
  await updateHosts(gw, [{ key, patch: { pooled: 'yes' } }], { keys, actor: 'alice', reason: 'test' });
  await until('v2 to show the v3 write', () => v2Value(key), (v) => v === '{"weight": 7, "pooled": "yes"}', 5000);
  const toV2 = Date.now() - t0;
  t.ok(toV2 < 1000, `v3 -> v2 in ${toV2} ms (< 1 s)`);
  t.equal(await etcd.etcdctlV2(['get', key]), '{"weight": 7, "pooled": "yes"}\n', 'etcdctl (v2) reads the exact bytes');
  const ls = await confctlV2(['ls', etcd.clientUrl, '/conftool/v1/pools']);
  t.same({ code: ls.code, out: JSON.parse(ls.stdout) as unknown }, { code: 0, out: { [key]: { weight: 7, pooled: 'yes' } } },
    'confctl-style recursive read sees the host');
});

t.test('no loop: each change is copied once, and the copy does not bounce back', async (t) => {
  const keys = layout();
  const key = hostKey(keys);
  await put3(gw, key, '{"weight": 10, "pooled": "yes"}');
  const b = await startBridge(t, { keys });
  await until('initial copy', () => v2Value(key), (v) => v !== undefined);
  await b.idle();
  const s0 = { ...b.stats };

  // v2 -> v3: one v3 write, no v2 write; v3's version (its write counter) moves by exactly one.
  const ver0 = (await gw.get(key))!.version;
  await etcd.etcdctlV2(['set', key, '{"weight": 10, "pooled": "no"}']);
  const idx = (await v2.getLeaf(key))!.modifiedIndex;
  await until('copy to v3', () => v3Value(key), (v) => v === '{"weight": 10, "pooled": "no"}');
  await new Promise((r) => setTimeout(r, 1500));
  await b.idle();
  t.equal((await gw.get(key))!.version, ver0 + 1, 'v3 key written exactly once');
  t.equal((await v2.getLeaf(key))!.modifiedIndex, idx, 'v2 key not rewritten by the bridge');
  t.same({ v2: b.stats.v2Writes - s0.v2Writes, v3: b.stats.v3Writes - s0.v3Writes }, { v2: 0, v3: 1 });
  t.ok(b.stats.inSync > s0.inSync, 'the echo of its own write was seen and found in sync');

  // v3 -> v2: one v2 write, no v3 write.
  const s1 = { ...b.stats };
  await updateHosts(gw, [{ key, patch: { weight: 3 } }], { keys, actor: 'a', reason: '' });
  const ver1 = (await gw.get(key))!.version;
  await until('copy to v2', () => v2Value(key), (v) => v === '{"weight": 3, "pooled": "no"}');
  const idx1 = (await v2.getLeaf(key))!.modifiedIndex;
  await new Promise((r) => setTimeout(r, 1500));
  await b.idle();
  t.equal((await gw.get(key))!.version, ver1, 'v3 key not rewritten by the bridge');
  t.equal((await v2.getLeaf(key))!.modifiedIndex, idx1, 'v2 key written once, then left alone');
  t.same({ v2: b.stats.v2Writes - s1.v2Writes, v3: b.stats.v3Writes - s1.v3Writes }, { v2: 1, v3: 0 });
});

t.test('deletes propagate both ways, and the base goes with them', async (t) => {
  const keys = layout();
  const a = hostKey(keys, 'sca1001.eqiad.wmnet');
  const c = hostKey(keys, 'sca1003.eqiad.wmnet');
  await put3(gw, a, '{"weight": 10, "pooled": "yes"}');
  await put3(gw, c, '{"weight": 10, "pooled": "yes"}');
  const b = await startBridge(t, { keys });
  await until('both in v2', async () => [await v2Value(a), await v2Value(c)], (v) => v.every((x) => x !== undefined));
  await b.idle();
  t.ok(await gw.get(b.baseKey(a)), 'a base is kept while the key exists');

  await etcd.etcdctlV2(['rm', a]); // conftool's delete
  await until('v2 delete to reach v3', () => v3Value(a), (v) => v === undefined, 5000);
  await gw.txn({ compare: [], success: [{ type: 'delete', key: c }] }); // poolctl sync removing a host
  await until('v3 delete to reach v2', () => v2Value(c), (v) => v === undefined, 5000);
  await t.rejects(etcd.etcdctlV2(['get', c]), /Key not found/, 'etcdctl (v2) no longer finds it');
  await b.idle();
  t.equal(await gw.get(b.baseKey(a)), undefined, 'base of a deleted key removed');
  t.equal(await gw.get(b.baseKey(c)), undefined);
  t.equal(await v3Value(a), undefined, 'not resurrected');
});

t.test('confctl reads a directory on an etcd only v3 wrote once the bridge runs (empty too)', async (t) => {
  const e = await startEtcd({ enableV2: true });
  t.teardown(() => e.stop());
  const kv = (await openKv({ endpoints: e.endpoints }, 'etcd3')) as Etcd3Kv;
  const c2 = new V2Client({ endpoints: e.endpoints });
  t.teardown(async () => {
    await c2.close();
    await kv.close();
  });
  const keys = new Keys();
  // Nothing in v2 at all: confctl crashes, as in the issue.
  const before = await confctlV2(['ls', e.clientUrl, '/conftool/v1/pools']);
  t.same({ code: before.code, err: before.stderr.trim() }, { code: 3, err: 'ValueError: /conftool/v1/pools is not a directory' },
    'without the bridge: the crash from the issue');
  const b1 = await startBridge(t, { keys, kv, client: c2 });
  const empty = await confctlV2(['ls', e.clientUrl, '/conftool/v1/pools']);
  t.same({ code: empty.code, out: JSON.parse(empty.stdout) as unknown }, { code: 0, out: {} }, 'no host yet: an empty directory, no crash');
  await b1.stop();
  // poolctl sync wrote three hosts in two services (v3 only), then the bridge starts.
  const hosts = [hostKey(keys, 'sca1001.eqiad.wmnet'), hostKey(keys, 'sca1002.eqiad.wmnet'), hostKey(keys, 'wtp1001.eqiad.wmnet', 'parsoid')];
  for (const h of hosts) await put3(kv, h, '{"weight": 10, "pooled": "yes"}');
  const b2 = await startBridge(t, { keys, kv, client: c2 });
  await b2.idle();
  const after = await confctlV2(['ls', e.clientUrl, '/conftool/v1/pools']);
  t.equal(after.code, 0, after.stderr);
  t.same(Object.keys(JSON.parse(after.stdout) as object).sort(), hosts.sort(), 'every host, under real v2 directories');
  const dirs = (await e.etcdctlV2(['ls', '/conftool/v1/pools/eqiad/sca'])).trim().split('\n').sort();
  t.same(dirs, ['/conftool/v1/pools/eqiad/sca/cxserver', '/conftool/v1/pools/eqiad/sca/parsoid'], 'etcdctl ls: service directories');
  // confctl's write path (read, merge, json.dumps, update with prevIndex) now works too, and reaches v3.
  const set = await confctlV2(['set', e.clientUrl, hosts[0], '{"pooled": "no"}']);
  t.equal(set.code, 0, set.stderr);
  await until('confctl write in v3', () => v3Value(hosts[0], kv), (v) => v === '{"weight": 10, "pooled": "no"}', 5000);
});

for (const authority of ['v2', 'v3'] as const) {
  t.test(`concurrent changes of one key on both sides: field-wise merge, ${authority} wins the field both changed`, async (t) => {
    const keys = layout();
    const key = hostKey(keys);
    const gone = hostKey(keys, 'sca1009.eqiad.wmnet');
    await put3(gw, key, '{"weight": 10, "pooled": "yes"}');
    await put3(gw, gone, '{"weight": 10, "pooled": "yes"}');
    const b1 = await startBridge(t, { keys, authority });
    await until('synced', async () => [await v2Value(key), await v2Value(gone)], (v) => v.every((x) => x !== undefined));
    await b1.idle();
    await b1.stop();
    // Within one bridge cycle (here: while no bridge runs), both sides change the same keys.
    await etcd.etcdctlV2(['set', key, '{"weight": 10, "pooled": "no"}']);
    await updateHosts(gw, [{ key, patch: { weight: 5, pooled: 'inactive' } }], { keys, actor: 'bob', reason: 'reimage' });
    await etcd.etcdctlV2(['rm', gone]);
    await updateHosts(gw, [{ key: gone, patch: { weight: 1 } }], { keys, actor: 'bob', reason: '' });
    const log: Logged[] = [];
    const b2 = await startBridge(t, { keys, authority, log });
    const want = authority === 'v2' ? '{"weight": 5, "pooled": "no"}' : '{"weight": 5, "pooled": "inactive"}';
    await until('the merge on both sides', async () => [await v2Value(key), await v3Value(key)], (v) => v[0] === want && v[1] === want);
    t.pass(`both sides hold ${want}: weight from v3 (only v3 changed it), pooled from ${authority}`);
    const goneWant = authority === 'v2' ? undefined : '{"weight": 1, "pooled": "yes"}';
    await until('delete-vs-change decided', async () => [await v2Value(gone), await v3Value(gone)], (v) => v[0] === goneWant && v[1] === goneWant);
    t.pass(`deleted in v2, changed in v3: ${authority === 'v2' ? 'deleted on both' : 'kept, changed, on both'}`);
    await b2.idle();
    t.ok(log.some((l) => l.level === 'warn' && /merged/.test(l.msg) && (l.obj as { conflicts?: string[] }).conflicts?.includes('pooled')),
      'the merge is logged with the conflicting field');
  });
}

t.test('the base survives a restart: a change made in v3 while no bridge ran is copied, not reverted', async (t) => {
  const keys = layout();
  const key = hostKey(keys);
  await put3(gw, key, '{"weight": 10, "pooled": "yes"}');
  const b1 = await startBridge(t, { keys }); // authority v2
  await until('synced', () => v2Value(key), (v) => v !== undefined);
  await b1.idle();
  await b1.stop();
  await updateHosts(gw, [{ key, patch: { pooled: 'no' } }], { keys, actor: 'a', reason: '' });
  await startBridge(t, { keys });
  await until('v3 change reaches v2', () => v2Value(key), (v) => v === '{"weight": 10, "pooled": "no"}');
  t.equal(await v3Value(key), '{"weight": 10, "pooled": "no"}', 'v2 authority did not revert v3: the base shows only v3 changed');
});

t.test('a key v2 cannot hold is reported once and does not stop the rest', async (t) => {
  const keys = layout();
  const ok = hostKey(keys);
  await put3(gw, ok, '{"weight": 10, "pooled": "yes"}');
  const log: Logged[] = [];
  const b = await startBridge(t, { keys, log });
  await until('the good key copied', () => v2Value(ok), (v) => v !== undefined);
  // Then a stray value in v3 at the service path, where v2 has the directory holding the host.
  const bad = keys.poolPrefix({ dc: 'eqiad', cluster: 'sca', service: 'cxserver' }).slice(0, -1);
  await put3(gw, bad, '{"weight": 1, "pooled": "no"}');
  await until('the stray key reported', async () => log.filter((l) => l.level === 'error').length, (c) => c > 0);
  await b.idle();
  b.requestResync();
  await b.idle();
  const reports = log.filter((l) => l.level === 'error' && l.msg.includes(bad));
  t.equal(reports.length, 1, 'reported once, naming the key');
  await etcd.etcdctlV2(['set', ok, '{"weight": 10, "pooled": "no"}']);
  await until('later changes still flow', () => v3Value(ok), (v) => v === '{"weight": 10, "pooled": "no"}', 5000);
});

t.test('no lost update: 25 conftool CAS writers on v2 and 25 poolctl writers on v3, one key, at once', async (t) => {
  const keys = new Keys({ conftool: '/race/conftool/v1', poold: '/race/poold/v1' });
  const key = hostKey(keys);
  await put3(gw, key, '{"weight": 10, "pooled": "yes"}');
  const b = await startBridge(t, { keys });
  await until('synced', () => v2Value(key), (v) => v !== undefined);
  await b.idle();
  // v2: python-etcd read / +1 / json.dumps / update(prevIndex), retried on compare failed, as conftool
  // would. All 25 processes load python-etcd first and wait at a barrier, so they really race.
  const procs = Array.from({ length: 25 }, () => confctlV2AtBarrier(['incr', etcd.clientUrl, key, 'n2']));
  await Promise.all(procs.map((p) => p.ready));
  const t0 = Date.now();
  for (const p of procs) p.go();
  const v2Writers = procs.map((p) => p.done);
  // v3: poolctl's write path, each writer setting its own field.
  const v3Writers = Array.from({ length: 25 }, (_, i) =>
    updateHosts(gw, [{ key, patch: { [`w${i}`]: i } }], { keys, actor: `w${i}`, reason: '', maxAttempts: 10_000 }));
  const [r2, r3] = await Promise.all([Promise.all(v2Writers), Promise.all(v3Writers)]);
  t.same(r2.map((r) => r.code), Array(25).fill(0), 'every v2 writer landed its increment');
  t.equal(r3.length, 25);
  await until('both sides equal', async () => [await v2Value(key), await v3Value(key)], (v) => v[0] === v[1], 20_000);
  await b.idle();
  const [final2, final3] = [await v2Value(key), await v3Value(key)];
  t.equal(final2, final3, 'v2 and v3 hold the same bytes');
  const obj = JSON.parse(final3!) as Record<string, unknown>;
  t.equal(obj.n2, 25, 'all 25 v2 increments present');
  t.same(Array.from({ length: 25 }, (_, i) => obj[`w${i}`]), Array.from({ length: 25 }, (_, i) => i), 'all 25 v3 fields present');
  t.same({ weight: obj.weight, pooled: obj.pooled }, { weight: 10, pooled: 'yes' });
  const v2Attempts = r2.reduce((s, r) => s + Number(r.stdout.trim()), 0);
  t.comment(`50 writers in ${Date.now() - t0} ms; v2 CAS attempts ${v2Attempts}; v3 attempts ${r3.reduce((s, r) => s + r.attempts, 0)}; ` +
    `bridge: ${JSON.stringify(b.stats)}`);
});
