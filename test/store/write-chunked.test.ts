// Writes bigger than one etcd transaction, against a real etcd with its DEFAULT limits: updateHosts
// and writeAtomic over 500 keys write them all in bounded chunks, every audit record of the call
// carrying one operation id; a failure part-way says exactly which keys landed (PartialWriteError)
// and running the same write again completes it; a refusal found while reading writes nothing.
import t, { type Test } from 'tap';
import { addPrefixUser, enableAuth, startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { updateHosts, writeAtomic } from '../../src/store/write.js';
import { listAudit } from '../../src/store/audit.js';
import { ConflictError, PartialWriteError, PermissionDeniedError } from '../../src/store/errors.js';
import { InvalidStoredValueError } from '../../src/model/errors.js';
import { ETCD_MAX_TXN_OPS, TXN_BUDGET_BYTES, txnBytes } from '../../src/store/limits.js';
import type { Kv, TxnOp, TxnRequest } from '../../src/store/kv.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const gw = await openKv({ endpoints: etcd.endpoints }, 'gateway');
const grpc = await openKv({ endpoints: etcd.endpoints }, 'etcd3');
t.teardown(() => Promise.all([gw.close(), grpc.close()]));

let n = 0;
function layout(): Keys {
  n++;
  return new Keys({ conftool: `/c${n}/conftool/v1`, poold: `/c${n}/poold/v1` });
}
const N = 500;
const hostNames = Array.from({ length: N }, (_, i) => `h${String(i).padStart(4, '0')}.eqiad.wmnet`);
const hostKeys = (keys: Keys) => hostNames.map((host) => keys.host({ dc: 'eqiad', cluster: 'sca', service: 'big', host }));

/** Creates the hosts in raw transactions of 100 (what sync would have done). */
async function seed(kv: Kv, keys: string[], value = '{"weight": 10, "pooled": "yes"}'): Promise<void> {
  for (let i = 0; i < keys.length; i += 100) {
    await kv.txn({ compare: [], success: keys.slice(i, i + 100).map((key): TxnOp => ({ type: 'put', key, value })) });
  }
}

/** The real Kv, with every transaction it sends recorded (to check each against the limits). */
function recording(kv: Kv): { kv: Kv; txns: TxnRequest[] } {
  const txns: TxnRequest[] = [];
  return {
    txns,
    kv: { user: kv.user, range: (r) => kv.range(r), get: (k) => kv.get(k), txn: (r) => { txns.push(r); return kv.txn(r); }, close: async () => {} },
  };
}

function withinLimits(t: Test, txns: TxnRequest[]): void {
  const worst = Math.max(...txns.map((r) => Math.max(r.compare.length, r.success.length)));
  const biggest = Math.max(...txns.map(txnBytes));
  t.ok(worst <= ETCD_MAX_TXN_OPS, `at most ${ETCD_MAX_TXN_OPS} ops per list (worst ${worst})`);
  t.ok(biggest <= TXN_BUDGET_BYTES, `at most ${TXN_BUDGET_BYTES} estimated bytes (biggest ${biggest})`);
}

const values = async (keys: string[]) => {
  const r = await gw.range({ key: keys[0], end: `${keys[keys.length - 1]}\0` });
  const byKey = new Map(r.kvs.map((e) => [e.key, e.value]));
  return keys.map((k) => byKey.get(k));
};

t.test('updateHosts: 500 hosts in one call, in 64-host chunks, one operation id on every record', async (t) => {
  for (const [name, base] of [['gateway', gw], ['etcd3', grpc]] as const) {
    const keys = layout();
    const ks = hostKeys(keys);
    await seed(gw, ks);
    const { kv, txns } = recording(base);
    const r = await updateHosts(kv, ks.map((key) => ({ key, patch: { pooled: 'no', weight: 5 } })), { keys, actor: 'alice', reason: 'T1 big' });
    t.equal(r.chunks, Math.ceil(N / 64), `${name}: ${r.chunks} transactions (a changed host costs its put and its record)`);
    t.equal(txns.length, r.chunks, `${name}: no lost races, one transaction per chunk`);
    withinLimits(t, txns);
    t.ok(r.results.every((x) => x.changed), `${name}: every host reported changed`);
    t.ok((await values(ks)).every((v) => v === '{"weight": 5, "pooled": "no"}'), `${name}: all 500 written`);
    const recs = await listAudit(gw, keys, { limit: 1000 });
    t.equal(recs.length, N, `${name}: one audit record per host`);
    t.same([...new Set(recs.map((x) => x.op))], [r.operationId], `${name}: all share the operation id ${r.operationId}`);
    t.match(r.operationId, /^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    t.equal(new Set(recs.map((x) => x.revision)).size, r.chunks, `${name}: records land with their chunk (one revision per chunk)`);
    // Each record shares its revision with the host it records (same transaction).
    const hostRev = new Map((await gw.range({ key: keys.poolsPrefix(), prefix: true })).kvs.map((e) => [e.key, e.modRevision]));
    t.ok(recs.every((x) => hostRev.get(x.key) === x.revision), `${name}: every record in its host's transaction`);

    // Running it again writes nothing (idempotent: already-done keys are skipped).
    const again = await updateHosts(kv, ks.map((key) => ({ key, patch: { pooled: 'no', weight: 5 } })), { keys, actor: 'alice', reason: 'T1 big' });
    t.equal(again.chunks, 0, `${name}: nothing to write the second time`);
    t.equal(txns.length, r.chunks, `${name}: no transaction sent`);
  }
});

t.test('writeAtomic: 500 creates plus a definition, in chunks, the caller\'s order kept', async (t) => {
  const keys = layout();
  const ks = hostKeys(keys);
  const def = keys.service({ dc: 'eqiad', name: 'big_80' });
  const { kv, txns } = recording(gw);
  const ops = [
    ...ks.map((key) => ({ type: 'create' as const, key, value: '{"weight": 10, "pooled": "yes"}' })),
    { type: 'put' as const, key: def, value: '{"lvs": {}}', ifModRevision: 0 },
  ];
  const r = await writeAtomic(kv, ops, { keys, actor: 'sync', reason: 'pools/' });
  t.equal(r.chunks, Math.ceil((N + 1) / 64));
  withinLimits(t, txns);
  t.equal(r.changes.length, N + 1);
  t.ok((await values(ks)).every((v) => v === '{"weight": 10, "pooled": "yes"}'), 'all 500 created');
  t.ok(txns[txns.length - 1].success.some((o) => o.key === def), 'the definition goes in the last chunk, after its hosts');
  const recs = await listAudit(gw, keys, { limit: 1000 });
  t.equal(recs.length, N + 1);
  t.same([...new Set(recs.map((x) => x.op))], [r.operationId]);
  // Puts of what is already stored write nothing (and so do deletes of absent keys).
  const again = await writeAtomic(kv, [...ks.map((key) => ({ type: 'put' as const, key, value: '{"weight": 10, "pooled": "yes"}' })),
    { type: 'delete' as const, key: `${def}-never-existed` }], { keys, actor: 'sync', reason: 'again' });
  t.equal(again.chunks, 0);
  t.same(again.changes, []);
});

t.test('big values: chunks are bounded by bytes too', async (t) => {
  const keys = layout();
  const big = 'x'.repeat(100_000);
  const ks = hostKeys(keys).slice(0, 40);
  const { kv, txns } = recording(grpc);
  // Each op costs its value and its audit record (which holds the value again): ~200 KB a key.
  const r = await writeAtomic(kv, ks.map((key) => ({ type: 'put' as const, key, value: JSON.stringify({ big }) })), { keys, actor: 'a', reason: 'big' });
  t.ok(r.chunks >= 8, `${r.chunks} chunks for 8 MB of puts and records`);
  withinLimits(t, txns);
  t.equal((await gw.range({ key: keys.poolsPrefix(), prefix: true, limit: 1 })).count, 40);
});

t.test('a problem found while reading refuses the whole write: nothing is written', async (t) => {
  const keys = layout();
  const ks = hostKeys(keys);
  await seed(gw, ks);
  await gw.txn({ compare: [], success: [{ type: 'put', key: ks[450], value: 'not json' }] });
  const rev = (await gw.range({ key: '/', prefix: true, limit: 1 })).revision;
  const err = await updateHosts(gw, ks.map((key) => ({ key, patch: { pooled: 'no' } })), { keys, actor: 'a', reason: '' }).catch((e: unknown) => e);
  t.type(err, InvalidStoredValueError, 'the garbage value in the 8th chunk is found before the first is written');
  t.match((err as Error).message, ks[450]);
  t.equal((await gw.range({ key: '/', prefix: true, limit: 1 })).revision, rev, 'nothing written');
});

t.test('a chunk that keeps losing races: PartialWriteError names exactly what landed; again completes it', async (t) => {
  const keys = layout();
  const ks = hostKeys(keys);
  await seed(gw, ks);
  // Another writer touches host 150 (third chunk) after every read of it, for ever.
  const victim = ks[150];
  const churn = async () => gw.txn({ compare: [], success: [{ type: 'put', key: victim, value: `{"weight": 10, "pooled": "yes", "n": ${Math.random()}}` }] });
  const covers = (r: { key: string; end?: string }) => r.key === victim || (r.end !== undefined && r.key <= victim && victim < r.end);
  const churning: Kv = {
    user: undefined,
    range: async (r) => { const out = await gw.range(r); if (covers(r)) await churn(); return out; },
    get: async (k) => { const e = await gw.get(k); if (k === victim) await churn(); return e; },
    txn: (r) => gw.txn(r),
    close: async () => {},
  };
  const err = await updateHosts(churning, ks.map((key) => ({ key, patch: { weight: 3 } })), { keys, actor: 'a', reason: 'race', maxAttempts: 3 }).catch((e: unknown) => e);
  t.type(err, PartialWriteError);
  const p = err as PartialWriteError;
  t.same(p.done, ks.slice(0, 128), 'the first two chunks landed');
  t.same(p.notDone, ks.slice(128), 'the rest did not');
  t.type(p.cause, ConflictError);
  t.match(p.message, /partly written \(operation \S+\): 128 of 500 key\(s\) done, 372 not/);
  t.match(p.message, /and 369 more/, 'a few keys named, the rest counted');
  t.ok(p.message.length < 1000, `short message (${p.message.length} chars)`);
  const vals = await values(ks);
  t.ok(vals.slice(0, 128).every((v) => v === '{"weight": 3, "pooled": "yes"}'), 'done keys changed');
  t.ok(vals.slice(128).every((v) => v !== undefined && JSON.parse(v).weight === 10), 'not-done keys untouched');
  const recs = await listAudit(gw, keys, { limit: 1000 });
  t.equal(recs.length, 128, 'a record for each done key, none for the others');
  t.same([...new Set(recs.map((x) => x.op))], [p.operationId]);

  // The race is over: the same write again completes it, writing only what is left.
  const r = await updateHosts(gw, ks.map((key) => ({ key, patch: { weight: 3 } })), { keys, actor: 'a', reason: 'race' });
  t.equal(r.results.filter((x) => x.changed).length, 372);
  const final = await values(ks);
  t.ok(final.every((v) => v !== undefined && JSON.parse(v).weight === 3), 'all 500 done');
  t.not(JSON.parse(final[150]!).n, undefined, 'the other writer\'s field survived on the contested key');
  t.equal((await listAudit(gw, keys, { limit: 1000 })).length, N, 'one record per change over both runs');
});

t.test('a concurrent change inside one chunk is merged, not lost (CAS per chunk)', async (t) => {
  const keys = layout();
  const ks = hostKeys(keys).slice(0, 200);
  await seed(gw, ks);
  const victim = ks[100];
  let once = true;
  const racing: Kv = {
    user: undefined,
    range: (r) => gw.range(r),
    get: (k) => gw.get(k),
    txn: async (r) => {
      // Just before the chunk holding the victim commits, someone else changes it.
      if (once && r.success.some((o) => o.key === victim)) {
        once = false;
        await gw.txn({ compare: [], success: [{ type: 'put', key: victim, value: '{"weight": 10, "pooled": "yes", "owner": "other"}' }] });
      }
      return gw.txn(r);
    },
    close: async () => {},
  };
  const r = await updateHosts(racing, ks.map((key) => ({ key, patch: { pooled: 'no' } })), { keys, actor: 'a', reason: '' });
  t.equal(r.attempts, 2, 'the chunk was re-read and re-applied once');
  t.equal((await gw.get(victim))?.value, '{"weight": 10, "pooled": "no", "owner": "other"}', 'both changes kept');
  t.ok((await values(ks)).every((v) => v?.includes('"pooled": "no"')));
});

t.test('permission denied on some keys: exactly the chunks before it land; again (allowed) completes it', async (t) => {
  const authEtcd = await startEtcd();
  t.teardown(() => authEtcd.stop());
  const keys = new Keys();
  const ks = hostKeys(keys);
  const root = await openKv({ endpoints: authEtcd.endpoints }, 'gateway');
  t.teardown(() => root.close());
  await seed(root, ks);
  await enableAuth(authEtcd);
  // May write hosts h00xx, h01xx and h02xx (the first 300), read everything, append audit records.
  const pool = keys.poolPrefix({ dc: 'eqiad', cluster: 'sca', service: 'big' });
  await addPrefixUser(authEtcd, 'ops', 'ops-pw', [
    { prefix: keys.poolsPrefix(), perm: 'read' },
    { prefix: `${pool}h00`, perm: 'readwrite' },
    { prefix: `${pool}h01`, perm: 'readwrite' },
    { prefix: `${pool}h02`, perm: 'readwrite' },
    { prefix: keys.auditPrefix(), perm: 'readwrite' },
  ]);
  await addPrefixUser(authEtcd, 'admin', 'admin-pw', [{ prefix: '/', perm: 'readwrite' }]);
  for (const adapter of ['gateway', 'etcd3'] as const) {
    const ops = await openKv({ endpoints: authEtcd.endpoints, user: 'ops', password: 'ops-pw' }, adapter);
    const admin = await openKv({ endpoints: authEtcd.endpoints, user: 'admin', password: 'admin-pw' }, adapter);
    const weight = adapter === 'gateway' ? 7 : 8;
    const changes = ks.map((key) => ({ key, patch: { weight } }));
    const err = await updateHosts(ops, changes, { keys, actor: 'ops', reason: 'partial' }).catch((e: unknown) => e);
    t.type(err, PartialWriteError, adapter);
    const p = err as PartialWriteError;
    // Chunks of 64: hosts 0-255 in four chunks land; the fifth (256-319) holds h0300, denied: refused whole.
    t.same(p.done, ks.slice(0, 256), `${adapter}: done is exactly the first four chunks`);
    t.same(p.notDone, ks.slice(256), `${adapter}: not done is everything from the refused chunk on`);
    t.type(p.cause, PermissionDeniedError);
    const listed = await listAudit(admin, keys, { limit: 2000, operationId: p.operationId });
    t.same(listed.map((x) => x.key).sort(), ks.slice(0, 256), `${adapter}: the operation's records are exactly the done keys`);
    const vals = await (async () => {
      const r = await admin.range({ key: keys.poolsPrefix(), prefix: true });
      const m = new Map(r.kvs.map((e) => [e.key, JSON.parse(e.value).weight as number]));
      return ks.map((k) => m.get(k));
    })();
    t.ok(vals.slice(0, 256).every((w) => w === weight) && vals.slice(256).every((w) => w !== weight), `${adapter}: etcd agrees`);
    const r = await updateHosts(admin, changes, { keys, actor: 'admin', reason: 'finish' });
    t.equal(r.results.filter((x) => x.changed).length, 244, `${adapter}: the second run writes only the 244 left`);
    await ops.close();
    await admin.close();
  }
});

t.test('keys far apart (every 10th host) are read one by one, not by a range over all their neighbours', async (t) => {
  const keys = layout();
  const ks = hostKeys(keys);
  await seed(gw, ks);
  const spread = ks.filter((_, i) => i % 10 === 0);
  const calls: string[] = [];
  const kv: Kv = {
    user: undefined,
    range: async (r) => { const out = await gw.range(r); calls.push(`range ${out.kvs.length}${out.more ? '+' : ''}`); return out; },
    get: async (k) => { calls.push('get'); return gw.get(k); },
    txn: (r) => gw.txn(r),
    close: async () => {},
  };
  const r = await updateHosts(kv, spread.map((key) => ({ key, patch: { weight: 1 } })), { keys, actor: 'a', reason: '' });
  t.equal(r.results.filter((x) => x.changed).length, 50);
  t.same(calls.filter((c) => c.startsWith('range')), ['range 108+'], 'one bounded range, cut short by its limit');
  t.equal(calls.filter((c) => c === 'get').length, 50, 'then one read per key');
  const vals = await values(ks);
  t.ok(vals.every((v, i) => (i % 10 === 0) === (v === '{"weight": 1, "pooled": "yes"}')), 'exactly the 50 chosen hosts changed');
});
