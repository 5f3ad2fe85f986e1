// poolctl's admin writes with --conftool-v2 (updateHostsV2), against etcd 3.4 --enable-v2 and no
// bridge running: v2 compare-and-swap with conftool's bytes, then the v3 copy and its audit record
// at one v3 revision; no lost update against conftool's own CAS writers (python-etcd); nothing
// written when any host is missing or unusable; and the documented failure modes of a store
// without multi-key transactions: the audit write failing after the v2 change, and a multi-host
// change stopping part-way.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { confctlV2AtBarrier } from '../helpers/confctl.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import type { Kv, TxnRequest, TxnResult } from '../../src/store/kv.js';
import { listAudit } from '../../src/store/audit.js';
import { V2Client } from '../../src/store/v2-client.js';
import { updateHostsV2 } from '../../src/store/write-v2.js';
import { V2AuditWriteError, V2PartialWriteError } from '../../src/store/v2-errors.js';
import { ConflictError } from '../../src/store/errors.js';
import { InvalidStoredValueError, NotFoundError, UsageError } from '../../src/model/errors.js';

const etcd = await startEtcd({ enableV2: true });
t.teardown(() => etcd.stop());
const gw = await openKv({ endpoints: etcd.endpoints }, 'gateway');
const v2 = new V2Client({ endpoints: etcd.endpoints });
t.teardown(async () => {
  await v2.close();
  await gw.close();
});

let n = 0;
const layout = () => {
  n++;
  return new Keys({ conftool: `/w${n}/conftool/v1`, poold: `/w${n}/poold/v1` });
};
const host = (keys: Keys, h = 'sca1001.eqiad.wmnet') => keys.host({ dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: h });
const both = async (key: string, value: string) => {
  await etcd.etcdctlV2(['set', key, value]);
  await gw.txn({ compare: [], success: [{ type: 'put', key, value }] });
};
const ctx = (keys: Keys) => ({ keys, actor: 'alice', reason: 'T9 deploy' });

t.test('v2 CAS with conftool bytes, then the v3 copy and the audit record at one v3 revision', async (t) => {
  const keys = layout();
  const key = host(keys);
  await both(key, '{"pooled": "yes", "weight": 10, "owner": "sre"}');
  const r = await updateHostsV2(v2, gw, [{ key, patch: { pooled: 'no' } }], ctx(keys));
  const want = '{"pooled": "no", "weight": 10, "owner": "sre"}';
  t.equal(await etcd.etcdctlV2(['get', key]), `${want}\n`, 'v2: merged in stored order, unknown field kept, json.dumps spacing');
  const e3 = await gw.get(key);
  t.equal(e3?.value, want, 'v3 copy (the two were in sync)');
  const [rec] = await listAudit(gw, keys, { limit: 5 });
  t.same({ actor: rec.actor, reason: rec.reason, revision: rec.revision, before: rec.before, after: rec.after },
    { actor: 'alice', reason: 'T9 deploy', revision: e3!.modRevision, before: { pooled: 'yes', weight: 10, owner: 'sre' }, after: { pooled: 'no', weight: 10, owner: 'sre' } });
  t.equal(r.revision, e3!.modRevision);
  const again = await updateHostsV2(v2, gw, [{ key, patch: { pooled: 'no' } }], ctx(keys));
  t.equal(again.results[0].changed, false, 'no-op: nothing written');
  t.equal((await listAudit(gw, keys, { limit: 5 })).length, 1, 'and nothing audited');
});

t.test('v3 out of sync (not yet bridged): v2 changed, the audit record alone in v3', async (t) => {
  const keys = layout();
  const key = host(keys);
  await etcd.etcdctlV2(['set', key, '{"weight": 10, "pooled": "yes"}']); // created by confctl; no bridge ran
  await updateHostsV2(v2, gw, [{ key, patch: { weight: 4 } }], ctx(keys));
  t.equal((await v2.getLeaf(key))?.value, '{"weight": 4, "pooled": "yes"}');
  t.equal(await gw.get(key), undefined, 'v3 left for the bridge to reconcile');
  const [rec] = await listAudit(gw, keys, { limit: 5 });
  t.same({ key: rec.key, after: rec.after }, { key, after: { weight: 4, pooled: 'yes' } }, 'audited all the same');
});

t.test('no lost update against conftool\'s own CAS writers on the same key', async (t) => {
  const keys = layout();
  const key = host(keys);
  await both(key, '{"weight": 10, "pooled": "yes"}');
  const procs = Array.from({ length: 10 }, () => confctlV2AtBarrier(['incr', etcd.clientUrl, key, 'n']));
  await Promise.all(procs.map((p) => p.ready));
  for (const p of procs) p.go();
  const ours = await Promise.all(Array.from({ length: 10 }, (_, i) =>
    updateHostsV2(v2, gw, [{ key, patch: { [`p${i}`]: i } }], { ...ctx(keys), maxAttempts: 10_000 })));
  const theirs = await Promise.all(procs.map((p) => p.done));
  t.same(theirs.map((r) => r.code), Array(10).fill(0));
  const v = JSON.parse((await v2.getLeaf(key))!.value) as Record<string, unknown>;
  t.equal(v.n, 10, 'every conftool increment');
  t.same(Array.from({ length: 10 }, (_, i) => v[`p${i}`]), Array.from({ length: 10 }, (_, i) => i), 'every poolctl field');
  t.comment(`poolctl attempts: ${ours.map((r) => r.attempts).join(',')}`);
});

t.test('checked before the first write: a missing host, an unusable value or a bad patch writes nothing', async (t) => {
  const keys = layout();
  const a = host(keys, 'sca1001.eqiad.wmnet');
  const b = host(keys, 'sca1002.eqiad.wmnet');
  await both(a, '{"weight": 10, "pooled": "yes"}');
  await t.rejects(updateHostsV2(v2, gw, [{ key: a, patch: { pooled: 'no' } }, { key: b, patch: { pooled: 'no' } }], ctx(keys)),
    NotFoundError, 'second host missing in v2');
  await etcd.etcdctlV2(['set', b, '{"weight": "ten", "pooled": "yes"}']);
  await t.rejects(updateHostsV2(v2, gw, [{ key: a, patch: { pooled: 'no' } }, { key: b, patch: { pooled: 'no' } }], ctx(keys)),
    InvalidStoredValueError, 'second host unusable');
  await t.rejects(updateHostsV2(v2, gw, [{ key: a, patch: { weight: -1 } }], ctx(keys)), UsageError);
  t.equal((await v2.getLeaf(a))?.value, '{"weight": 10, "pooled": "yes"}', 'first host untouched each time');
  t.equal((await listAudit(gw, keys, { limit: 5 })).length, 0, 'nothing audited');
});

t.test('v3 unreachable after the v2 write: the change stands, V2AuditWriteError says what to record', async (t) => {
  const keys = layout();
  const key = host(keys);
  await both(key, '{"weight": 10, "pooled": "yes"}');
  const dead = await openKv({ endpoints: ['http://127.0.0.1:1'], timeoutMs: 500 }, 'gateway');
  t.teardown(() => dead.close());
  const err = await updateHostsV2(v2, dead, [{ key, patch: { pooled: 'no' } }], ctx(keys)).catch((e: unknown) => e);
  t.type(err, V2AuditWriteError);
  t.match((err as Error).message, new RegExp(`changed ${key} in etcd v2 .*"pooled": "no".*could not write its audit record.*record it by hand: actor alice, reason "T9 deploy"`));
  t.equal((await v2.getLeaf(key))?.value, '{"weight": 10, "pooled": "no"}', 'v2 holds the change');
});

/** The real Kv, with a hook run before each transaction: lets a test change etcd between steps. */
class HookedKv implements Kv {
  constructor(private readonly inner: Kv, private readonly before: () => Promise<void>) {}
  get user() { return this.inner.user; }
  range(...a: Parameters<Kv['range']>) { return this.inner.range(...a); }
  get(key: string) { return this.inner.get(key); }
  async txn(req: TxnRequest): Promise<TxnResult> {
    await this.before();
    return this.inner.txn(req);
  }
  close() { return Promise.resolve(); }
}

t.test('a multi-host change that loses a host part-way: V2PartialWriteError names what was and was not changed', async (t) => {
  const keys = layout();
  const a = host(keys, 'sca1001.eqiad.wmnet');
  const b = host(keys, 'sca1002.eqiad.wmnet');
  const c = host(keys, 'sca1003.eqiad.wmnet');
  for (const k of [a, b, c]) await both(k, '{"weight": 10, "pooled": "yes"}');
  // While poolctl audits host a, confctl keeps rewriting host b (a stale modifiedIndex every time).
  let i = 0;
  const busy = new HookedKv(gw, async () => { await etcd.etcdctlV2(['set', b, `{"weight": 10, "pooled": "yes", "n": ${i++}}`]); });
  const err = await updateHostsV2(v2, busy, [a, b, c].map((key) => ({ key, patch: { pooled: 'no' } })), { ...ctx(keys), maxAttempts: 1 })
    .catch((e: unknown) => e);
  t.type(err, V2PartialWriteError);
  t.type((err as Error).cause, ConflictError);
  t.same((err as V2PartialWriteError).context, { written: [a], notWritten: [b, c] });
  t.equal(JSON.parse((await v2.getLeaf(a))!.value).pooled, 'no', 'a changed');
  t.equal(JSON.parse((await v2.getLeaf(c))!.value).pooled, 'yes', 'c untouched');
  const recs = await listAudit(gw, keys, { limit: 5 });
  t.same(recs.map((r) => r.key), [a], 'a is audited');
});
