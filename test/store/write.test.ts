// updateHosts/writeAtomic against a real etcd: conftool's exact bytes, audit in the same
// transaction, unknown fields preserved, no lost update under contention, typed failures.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { updateHosts, writeAtomic } from '../../src/store/write.js';
import { listAudit } from '../../src/store/audit.js';
import { ConflictError } from '../../src/store/errors.js';
import { InvalidStoredValueError, NotFoundError, UsageError } from '../../src/model/errors.js';
import type { Kv } from '../../src/store/kv.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const gw = await openKv({ endpoints: etcd.endpoints }, 'gateway');
const grpc = await openKv({ endpoints: etcd.endpoints }, 'etcd3');
t.teardown(() => Promise.all([gw.close(), grpc.close()]));

let n = 0;
/** A fresh key layout per test so audit listings only see that test's records. */
function layout(): Keys {
  n++;
  return new Keys({ conftool: `/t${n}/conftool/v1`, poold: `/t${n}/poold/v1` });
}
const host = (keys: Keys, h = 'sca1001.eqiad.wmnet') => keys.host({ dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: h });
async function put(key: string, value: string): Promise<void> {
  await gw.txn({ compare: [], success: [{ type: 'put', key, value }] });
}

t.test('depool, pool, weight: exact conftool JSON, unknown fields kept, audit at the same revision', async (t) => {
  const keys = layout();
  const key = host(keys);
  // Written by "another tool": odd key order and a field poold does not know.
  await put(key, '{"pooled": "yes", "weight": 10, "owner": {"team": "sre", "tags": ["a"]}}');
  const ctx = { keys, actor: 'alice', reason: 'T1234 maintenance', now: () => Date.parse('2026-11-21T15:00:00.000Z') };

  const dep = await updateHosts(gw, [{ key, patch: { pooled: 'no' } }], ctx);
  const e1 = await gw.get(key);
  t.equal(e1?.value, '{"pooled": "no", "weight": 10, "owner": {"team": "sre", "tags": ["a"]}}', 'depool bytes');
  t.equal(e1?.modRevision, dep.revision);
  t.same(dep.results, [{ key, changed: true, before: { pooled: 'yes', weight: 10, owner: { team: 'sre', tags: ['a'] } },
    after: { pooled: 'no', weight: 10, owner: { team: 'sre', tags: ['a'] } } }]);

  const [rec] = await listAudit(gw, keys, { limit: 10 });
  t.same({ actor: rec.actor, reason: rec.reason, key: rec.key, before: rec.before, after: rec.after, time: rec.time }, {
    actor: 'alice', reason: 'T1234 maintenance', key,
    before: { pooled: 'yes', weight: 10, owner: { team: 'sre', tags: ['a'] } },
    after: { pooled: 'no', weight: 10, owner: { team: 'sre', tags: ['a'] } },
    time: '2026-11-21T15:00:00.000Z',
  }, 'audit record says who, what, why, when');
  t.equal(rec.revision, dep.revision, 'audit record written in the same transaction (same revision)');

  await updateHosts(grpc, [{ key, patch: { weight: 0 } }], ctx);
  await updateHosts(gw, [{ key, patch: { pooled: 'yes', weight: 25 } }], ctx);
  t.equal((await gw.get(key))?.value, '{"pooled": "yes", "weight": 25, "owner": {"team": "sre", "tags": ["a"]}}');
  const again = await updateHosts(gw, [{ key, patch: { pooled: 'yes' } }], ctx);
  t.equal(again.results[0].changed, false, 'no-op patch writes nothing');
  const all = await listAudit(gw, keys, { limit: 10 });
  t.same(all.map((r) => (r.after as { weight: number; pooled: string })).map((a) => `${a.pooled}/${a.weight}`),
    ['yes/25', 'no/0', 'no/10'], 'one record per effective change, newest first');
});

t.test('several keys in one write share one revision, with one audit record each', async (t) => {
  const keys = layout();
  const k1 = host(keys, 'sca1001');
  const k2 = host(keys, 'sca1002');
  await put(k1, '{"weight": 10, "pooled": "yes"}');
  await put(k2, '{"weight": 10, "pooled": "yes"}');
  const r = await updateHosts(grpc, [{ key: k1, patch: { pooled: 'no' } }, { key: k2, patch: { pooled: 'no' } }], { keys, actor: 'bob', reason: '' });
  t.equal((await gw.get(k1))?.modRevision, r.revision);
  t.equal((await gw.get(k2))?.modRevision, r.revision);
  const recs = await listAudit(gw, keys, { limit: 10 });
  t.same(recs.map((x) => [x.key, x.revision]).sort(), [[k1, r.revision], [k2, r.revision]]);
});

t.test('50 concurrent writers on one key, each changing its own field, lose no update', async (t) => {
  const keys = layout();
  const key = host(keys);
  await put(key, '{"weight": 1, "pooled": "yes", "foreign": "kept"}');
  const writers: Promise<unknown>[] = [];
  for (let i = 0; i < 50; i++) {
    const kv: Kv = i % 2 === 0 ? gw : grpc;
    const patch = i === 0 ? { weight: 7 } : i === 1 ? { pooled: 'no' as const } : { [`extra${i}`]: i };
    writers.push(updateHosts(kv, [{ key, patch }], { keys, actor: `w${i}`, reason: 'race' }));
  }
  const results = (await Promise.all(writers)) as { attempts: number }[];
  const final = JSON.parse((await gw.get(key))?.value ?? '{}') as Record<string, unknown>;
  t.equal(final.weight, 7);
  t.equal(final.pooled, 'no');
  t.equal(final.foreign, 'kept');
  for (let i = 2; i < 50; i++) t.equal(final[`extra${i}`], i, `extra${i} survived`);
  t.ok(results.some((r) => r.attempts > 1), 'writers really collided (some retried)');
  const recs = await listAudit(gw, keys, { limit: 100 });
  t.equal(recs.length, 50, 'one audit record per writer');
  t.equal(new Set(recs.map((r) => r.revision)).size, 50, 'each at its own revision');
});

t.test('typed failures: missing key, garbage stored value, bad patch, exhausted retries', async (t) => {
  const keys = layout();
  const ctx = { keys, actor: 'a', reason: '' };
  const missing = host(keys, 'nope');
  await t.rejects(updateHosts(gw, [{ key: missing, patch: { pooled: 'no' } }], ctx), NotFoundError);

  const garbage = host(keys, 'garbage');
  await put(garbage, 'this is not json');
  const err = await updateHosts(gw, [{ key: garbage, patch: { pooled: 'no' } }], ctx).catch((e: unknown) => e);
  t.type(err, InvalidStoredValueError);
  t.match((err as Error).message, garbage);
  t.match((err as Error).message, /not JSON/);
  t.equal((await gw.get(garbage))?.value, 'this is not json', 'garbage left as it was');

  const wrongType = host(keys, 'wrongtype');
  await put(wrongType, '{"weight": "ten", "pooled": "yes"}');
  const err2 = await updateHosts(grpc, [{ key: wrongType, patch: { pooled: 'no' } }], ctx).catch((e: unknown) => e);
  t.type(err2, InvalidStoredValueError);
  t.match((err2 as Error).message, /wrongtype: "weight" must be a non-negative integer, not "ten"/);
  await updateHosts(gw, [{ key: wrongType, patch: { weight: 10 } }], ctx);
  t.equal((await gw.get(wrongType))?.value, '{"weight": 10, "pooled": "yes"}', 'a patch that fixes the bad field is allowed');

  await t.rejects(updateHosts(gw, [{ key: wrongType, patch: { weight: -3 } }], ctx), UsageError);
  await t.rejects(updateHosts(gw, [{ key: wrongType, patch: { pooled: 'maybe' as 'yes' } }], ctx), UsageError);

  // A writer that keeps losing: the key changes between every read and write.
  const busy = host(keys, 'busy');
  await put(busy, '{"weight": 1, "pooled": "yes"}');
  const churning: Kv = {
    user: undefined,
    range: (r) => gw.range(r),
    get: async (k) => { const e = await gw.get(k); await put(busy, `{"weight": 1, "pooled": "yes", "n": ${Math.random()}}`); return e; },
    txn: (r) => gw.txn(r),
    close: async () => {},
  };
  const err3 = await updateHosts(churning, [{ key: busy, patch: { pooled: 'no' } }], { ...ctx, maxAttempts: 3 }).catch((e: unknown) => e);
  t.type(err3, ConflictError);
  t.match((err3 as Error).message, /after 3 conflicting/);
});

t.test('writeAtomic: create-if-absent, guarded delete and put, audit per op, conflicts named', async (t) => {
  const keys = layout();
  const ctx = { keys, actor: 'sync', reason: 'pools/ sync' };
  const svc = keys.service({ dc: 'eqiad', name: 'cxserver_8080' });
  const h1 = host(keys, 'sca1001');
  const h2 = host(keys, 'sca1002');
  await put(h2, '{"weight": 10, "pooled": "yes"}');
  const h2rev = (await gw.get(h2))!.modRevision;
  const r = await writeAtomic(gw, [
    { type: 'create', key: h1, value: '{"weight": 10, "pooled": "yes"}' },
    { type: 'put', key: svc, value: '{"lvs": {}}', ifModRevision: 0 },
    { type: 'delete', key: h2, ifModRevision: h2rev },
  ], ctx);
  t.equal((await gw.get(h1))?.modRevision, r.revision);
  t.equal((await gw.get(svc))?.value, '{"lvs": {}}');
  t.equal(await gw.get(h2), undefined);
  const recs = await listAudit(gw, keys, { limit: 10 });
  t.same(recs.map((x) => [x.key, x.before, x.after, x.revision]).sort(), [
    [h1, null, { weight: 10, pooled: 'yes' }, r.revision],
    [h2, { weight: 10, pooled: 'yes' }, null, r.revision],
    [svc, null, { lvs: {} }, r.revision],
  ].sort());

  const err = await writeAtomic(grpc, [
    { type: 'create', key: h1, value: '{"weight": 1, "pooled": "no"}' },
    { type: 'put', key: svc, value: '{}' },
  ], ctx).catch((e: unknown) => e);
  t.type(err, ConflictError);
  t.same((err as ConflictError).context.keys, [h1], 'names the key whose guard failed');
  t.equal((await gw.get(svc))?.value, '{"lvs": {}}', 'nothing of the failed write landed');
});

t.test('listAudit filters by key prefix, actor and time, newest first', async (t) => {
  const keys = layout();
  const a = host(keys, 'a1');
  const b = keys.host({ dc: 'codfw', cluster: 'sca', service: 'cxserver', host: 'b1' });
  await put(a, '{"weight": 1, "pooled": "yes"}');
  await put(b, '{"weight": 1, "pooled": "yes"}');
  const at = (iso: string) => () => Date.parse(iso);
  await updateHosts(gw, [{ key: a, patch: { weight: 2 } }], { keys, actor: 'alice', reason: '1', now: at('2026-01-01T00:00:00Z') });
  await updateHosts(gw, [{ key: b, patch: { weight: 2 } }], { keys, actor: 'bob', reason: '2', now: at('2026-01-02T00:00:00Z') });
  await updateHosts(gw, [{ key: a, patch: { weight: 3 } }], { keys, actor: 'bob', reason: '3', now: at('2026-01-03T00:00:00Z') });
  await updateHosts(gw, [{ key: b, patch: { weight: 3 } }], { keys, actor: 'alice', reason: '4', now: at('2026-01-04T00:00:00Z') });
  const reasons = (rs: { reason: string }[]) => rs.map((r) => r.reason);
  t.same(reasons(await listAudit(gw, keys, { limit: 10 })), ['4', '3', '2', '1']);
  t.same(reasons(await listAudit(gw, keys, { limit: 2 })), ['4', '3']);
  t.same(reasons(await listAudit(gw, keys, { limit: 10, actor: 'alice' })), ['4', '1']);
  t.same(reasons(await listAudit(gw, keys, { limit: 10, keyPrefix: keys.poolPrefix({ dc: 'codfw', cluster: 'sca', service: 'cxserver' }) })), ['4', '2']);
  t.same(reasons(await listAudit(gw, keys, { limit: 10, since: Date.parse('2026-01-02T00:00:00Z') })), ['4', '3', '2']);
  t.same(reasons(await listAudit(grpc, keys, { limit: 1, actor: 'bob', keyPrefix: a })), ['3']);
});
