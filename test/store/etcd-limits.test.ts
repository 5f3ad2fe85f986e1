// etcd's default request limits, as a real etcd enforces them (src/store/limits.ts relies on exactly
// this), and our adapters refusing an oversized transaction themselves, with a readable error.
// The first tests talk to etcd's JSON gateway directly (not through our adapters, which would refuse
// first), so they check etcd itself: if a new etcd counts differently, they say so.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { RequestTooLargeError } from '../../src/store/errors.js';
import { mapEtcdError } from '../../src/store/kv-errors.js';
import {
  checkTxnLimits, ETCD_MAX_REQUEST_BYTES, ETCD_MAX_TXN_OPS, packOps, TXN_BUDGET_BYTES, txnBytes,
} from '../../src/store/limits.js';
import type { TxnOp, TxnRequest } from '../../src/store/kv.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const gw = await openKv({ endpoints: etcd.endpoints }, 'gateway');
const grpc = await openKv({ endpoints: etcd.endpoints }, 'etcd3');
t.teardown(() => Promise.all([gw.close(), grpc.close()]));

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** One raw transaction on etcd's gateway: etcd's own verdict, no client-side checks. */
async function rawTxn(req: TxnRequest): Promise<{ ok: boolean; error: string }> {
  const op = (o: TxnOp) => (o.type === 'put' ? { request_put: { key: b64(o.key), value: b64(o.value) } } : { request_delete_range: { key: b64(o.key) } });
  const body = {
    compare: req.compare.map((c) => ({ key: b64(c.key), target: 'MOD', result: 'EQUAL', mod_revision: String(c.value) })),
    success: req.success.map(op),
    failure: (req.failure ?? []).map(op),
  };
  const r = await fetch(`${etcd.clientUrl}/v3/kv/txn`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
  const j = (await r.json()) as { error?: string; message?: string };
  return { ok: r.status === 200, error: j.error ?? j.message ?? '' };
}
const puts = (n: number, prefix: string, size = 8): TxnOp[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'put', key: `${prefix}/${String(i).padStart(4, '0')}`, value: 'v'.repeat(size) }));
const compares = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}/${i}`, target: 'mod' as const, op: '==' as const, value: 0 }));

t.test('etcd: max-txn-ops (128) counts compare, success and failure separately', async (t) => {
  t.equal(ETCD_MAX_TXN_OPS, 128);
  const full = await rawTxn({ compare: compares(128, '/c'), success: puts(128, '/s'), failure: puts(128, '/f') });
  t.same(full, { ok: true, error: '' }, '128 compares + 128 success + 128 failure ops: accepted');
  const success = await rawTxn({ compare: [], success: puts(129, '/s2') });
  t.equal(success.ok, false);
  t.match(success.error, /too many operations in txn request/, '129 success ops: refused');
  const cmp = await rawTxn({ compare: compares(129, '/c2'), success: puts(1, '/s3') });
  t.match(cmp.error, /too many operations in txn request/, '129 compares: refused');
  const fail = await rawTxn({ compare: [], success: [], failure: puts(129, '/f2') });
  t.match(fail.error, /too many operations in txn request/, '129 failure ops: refused');
  t.equal((await gw.range({ key: '/s2/', prefix: true })).count, 0, 'a refused transaction wrote nothing');
});

t.test('etcd: max-request-bytes (1.5 MiB) caps the whole request; our estimate over-counts', async (t) => {
  t.equal(ETCD_MAX_REQUEST_BYTES, 1_572_864);
  const near = { compare: [], success: [{ type: 'put' as const, key: '/big', value: 'x'.repeat(ETCD_MAX_REQUEST_BYTES - 100) }] };
  t.same(await rawTxn(near), { ok: true, error: '' }, 'one value 100 bytes under the limit: accepted');
  const at = { compare: [], success: [{ type: 'put' as const, key: '/big', value: 'x'.repeat(ETCD_MAX_REQUEST_BYTES) }] };
  t.match((await rawTxn(at)).error, /request is too large/, 'a value of the limit itself: refused');
  // Many ops: etcd counts framing too. 120 × 13 000 bytes of values is 1 560 000 < 1 572 864, accepted ...
  t.same(await rawTxn({ compare: [], success: puts(120, '/m', 13_000) }), { ok: true, error: '' });
  // ... and 121 of them is over, refused.
  t.match((await rawTxn({ compare: [], success: puts(121, '/m2', 13_000) })).error, /request is too large/);
  t.ok(txnBytes(near) > ETCD_MAX_REQUEST_BYTES - 100, 'the estimate is never below the real size');
  t.throws(() => checkTxnLimits(at), RequestTooLargeError, 'our check refuses what etcd refuses');
  t.throws(() => checkTxnLimits({ compare: [], success: puts(121, '/m2', 13_000) }), RequestTooLargeError);
});

t.test('packOps keeps every batch under the limits, and etcd accepts every batch', async (t) => {
  // 600 ops of mixed sizes (one in seven 60 KB): bytes bind some batches, the op count others.
  const ops: TxnOp[] = Array.from({ length: 600 }, (_, i) => ({ type: 'put', key: `/pack/${String(i).padStart(4, '0')}`, value: 'p'.repeat(i % 7 === 0 ? 60_000 : 50) }));
  const batches = packOps(ops);
  t.same(batches.flat(), ops, 'every op once, in order');
  t.ok(batches.length >= Math.ceil(600 / 128), `${batches.length} batches`);
  for (const b of batches) {
    t.ok(b.length <= ETCD_MAX_TXN_OPS && txnBytes({ compare: [], success: b }) <= TXN_BUDGET_BYTES, `batch of ${b.length} within limits`);
    const r = await rawTxn({ compare: [], success: b });
    if (!r.ok) t.fail(`etcd refused a packed batch: ${r.error}`);
  }
  t.equal((await gw.range({ key: '/pack/', prefix: true })).count, 600);
});

t.test('both adapters refuse an oversized transaction before sending it, naming a few keys', async (t) => {
  for (const [name, kv] of [['gateway', gw], ['etcd3', grpc]] as const) {
    const before = (await gw.range({ key: '/', prefix: true, limit: 1 })).revision;
    const err = await kv.txn({ compare: [], success: puts(400, `/over-${name}`) }).catch((e: unknown) => e);
    t.type(err, RequestTooLargeError, name);
    const msg = (err as Error).message;
    t.match(msg, /400 success operations \(etcd's -{2}max-txn-ops is 128 per list\)/, `${name}: says why`);
    t.match(msg, new RegExp(`/over-${name}/0000, /over-${name}/0001, /over-${name}/0002 and 397 more`), `${name}: three keys, then a count`);
    t.ok(msg.length < 400, `${name}: a short message (${msg.length} chars)`);
    t.same((err as RequestTooLargeError).context.keys, puts(400, `/over-${name}`).map((o) => o.key), `${name}: every key in the context`);
    t.equal((await gw.range({ key: '/', prefix: true, limit: 1 })).revision, before, `${name}: nothing sent`);
  }
});

t.test("etcd's own refusal is typed and names a few keys, not 400", (t) => {
  const keys = Array.from({ length: 400 }, (_, i) => `/conftool/v1/pools/eqiad/sca/cxserver/sca${1001 + i}`);
  const err = mapEtcdError('etcdserver: too many operations in txn request', { op: 'write', keys, user: undefined, endpoint: 'http://127.0.0.1:2379' });
  t.type(err, RequestTooLargeError);
  t.match(err.message, /one of \/conftool\/v1\/pools\/eqiad\/sca\/cxserver\/sca1001, .*sca1002, .*sca1003 and 397 more/);
  t.notMatch(err.message, /sca1004/);
  const denied = mapEtcdError('etcdserver: permission denied', { op: 'write', keys, user: 'bob', endpoint: 'http://127.0.0.1:2379' });
  t.match(denied.message, /may not write one of .*sca1003 and 397 more;/);
  t.end();
});
