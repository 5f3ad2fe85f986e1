// Audit records live in etcd, whose size is capped: the leader prunes records older than the
// retention, and only those (ids start with the record's time, so "older" is a key range).
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { Keys } from '../../src/store/keys.js';
import { auditOps, listAudit, pruneAudit } from '../../src/store/audit.js';
import { ETCD_MAX_TXN_OPS, TXN_BUDGET_BYTES, txnBytes } from '../../src/store/limits.js';
import type { Kv, TxnRequest } from '../../src/store/kv.js';

t.test('pruneAudit deletes exactly the records older than the cutoff, in bounded batches', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = new GatewayKv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const keys = new Keys();
  const day = 86_400_000;
  const now = Date.UTC(2026, 10, 21);
  const write = (at: number, n: number) => kv.txn({
    compare: [],
    success: auditOps(keys, { actor: 'a', reason: 'r' }, at, Array.from({ length: n }, (_, i) => ({ key: `/k/${at}/${i}`, before: null, after: i }))),
  });
  await write(now - 200 * day, 120); // old: two prune batches of 100
  await write(now - 91 * day, 5); // old
  await write(now - 89 * day, 7); // kept
  await write(now, 3); // kept
  const deleted = await pruneAudit(kv, keys, now - 90 * day);
  t.equal(deleted, 125);
  const left = await listAudit(kv, keys, { limit: 1000 });
  t.equal(left.length, 10);
  t.ok(left.every((r) => Date.parse(r.time) >= now - 90 * day), 'only records within the retention remain');
  t.equal(await pruneAudit(kv, keys, now - 90 * day), 0, 'idempotent');
});

t.test('pruneAudit at size: 3000 old records, every transaction within etcd\'s limits, even when asked for bigger batches', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = new GatewayKv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const keys = new Keys();
  const day = 86_400_000;
  const now = Date.UTC(2026, 10, 21);
  // A long key (as a deep service path is) in every record.
  for (let i = 0; i < 30; i++) {
    await kv.txn({ compare: [], success: auditOps(keys, { actor: 'a', reason: 'r' }, now - (200 - i) * day,
      Array.from({ length: 100 }, (_, j) => ({ key: `/conftool/v1/pools/eqiad/cluster-${i}/service-${j}/host${j}.eqiad.wmnet`, before: { weight: 10, pooled: 'yes' }, after: { weight: 10, pooled: 'no' } }))) });
  }
  await kv.txn({ compare: [], success: auditOps(keys, { actor: 'a', reason: 'r' }, now, [{ key: '/k/new', before: null, after: 1 }]) });
  const txns: TxnRequest[] = [];
  const recording: Kv = { user: undefined, range: (r) => kv.range(r), get: (k) => kv.get(k), txn: (r) => { txns.push(r); return kv.txn(r); }, close: async () => {} };
  t.equal(await pruneAudit(recording, keys, now - 90 * day, 1000), 3000, 'a batch of 1000 asked for: all 3000 deleted anyway');
  t.ok(txns.every((r) => r.success.length <= ETCD_MAX_TXN_OPS), `at most ${ETCD_MAX_TXN_OPS} deletes per transaction (${txns.length} transactions)`);
  t.ok(txns.every((r) => txnBytes(r) <= TXN_BUDGET_BYTES));
  t.same((await listAudit(kv, keys, { limit: 10 })).map((r) => r.key), ['/k/new']);
});

t.test('the elected poold prunes past its --audit-retention, and only then', async (t) => {
  const { Daemon } = await import('../../src/daemon/daemon.js');
  const { createLogger } = await import('../../src/daemon/logger.js');
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = new GatewayKv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const keys = new Keys();
  const day = 86_400_000;
  const old = auditOps(keys, { actor: 'a', reason: 'old' }, Date.now() - 10 * day, [{ key: '/k/old', before: null, after: 1 }]);
  const fresh = auditOps(keys, { actor: 'a', reason: 'fresh' }, Date.now() - day, [{ key: '/k/fresh', before: null, after: 2 }]);
  await kv.txn({ compare: [], success: [...old, ...fresh] });
  const d = new Daemon({ etcd: { endpoints: etcd.endpoints }, observer: 'ret', quorum: 'majority', host: '127.0.0.1', port: 0, leaseTtlSeconds: 2, log: createLogger('error'), auditRetentionMs: 7 * day });
  await d.start();
  t.teardown(() => d.stop());
  let reasons: string[] = [];
  for (let i = 0; i < 100; i++) {
    reasons = (await listAudit(kv, keys, { limit: 10 })).map((r) => r.reason);
    if (!reasons.includes('old')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.same(reasons, ['fresh'], 'the 10-day-old record is gone, the 1-day-old one stays');
});
