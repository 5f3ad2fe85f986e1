// The leader's publication at size, against a real etcd with its DEFAULT limits: 500 pools are
// published in transactions within max-txn-ops and max-request-bytes, each with the fence
// compare; a pool whose write etcd refuses (an auth role that may not write its state key) is
// retried on its own growing backoff while every other pool is published, and keeps being
// published as it changes; a failed fence drops the batch without retrying it. The layout
// (src/store/state-layout.ts): the first publication is inline and the server keys are written
// after it; from then on a change is its changed server key and the header, in one transaction.
import t from 'tap';
import { addPrefixUser, enableAuth, startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { ETCD_MAX_TXN_OPS, TXN_BUDGET_BYTES, txnBytes } from '../../src/store/limits.js';
import { PermissionDeniedError } from '../../src/store/errors.js';
import { PublishQueue } from '../../src/daemon/publish-queue.js';
import { Leader } from '../../src/daemon/leader.js';
import { sleep, testLog, waitFor } from './harness.js';
import { checklessDef, pooledData, recordingKv } from './leader-fixtures.js';
import { publishedState } from '../helpers/published.js';

const keys = new Keys();
const FENCE = keys.election('leader-test');
const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const root = await openKv({ endpoints: etcd.endpoints }, 'gateway');
t.teardown(() => root.close());
await root.txn({ compare: [], success: [{ type: 'put', key: FENCE, value: 'me' }] });
await enableAuth(etcd);
// May read everything, but write only the state of pools named p… (not the pool "zz").
await addPrefixUser(etcd, 'leader', 'leader-pw', [
  { prefix: '/', perm: 'read' },
  { prefix: `${keys.statePrefix()}eqiad/p`, perm: 'readwrite' },
  { prefix: '/q/', perm: 'readwrite' },
]);

const admin = await openKv({ endpoints: etcd.endpoints, user: 'root', password: etcd.rootPassword }, 'gateway');
t.teardown(() => admin.close());
const count = async (prefix: string) => (await admin.range({ key: prefix, prefix: true, limit: 1 })).count;

t.test('queue: 500 keys in a few fenced transactions; a refused key retries alone, with growing backoff', async (t) => {
  const kv = await openKv({ endpoints: etcd.endpoints, user: 'leader', password: 'leader-pw' }, 'etcd3');
  t.teardown(() => kv.close());
  const rec = recordingKv(kv);
  const values = new Map<string, string>();
  const written: string[] = [];
  const failures: { keys: string[]; retryMs: number; err: unknown }[] = [];
  const q = new PublishQueue({
    kv: rec.kv,
    fence: { key: FENCE, target: 'value', op: '==', value: 'me' },
    produce: (k) => (values.has(k) ? { etcdKey: k, ops: [{ type: 'put', key: k, value: values.get(k)! }] } : undefined),
    onWritten: (k) => written.push(k),
    onFailed: (k, err, retryMs) => failures.push({ keys: k, retryMs, err }),
    maxDelayMs: 800,
  });
  t.teardown(() => q.clear());
  const bad = `${keys.statePrefix()}eqiad/zz`;
  const good = Array.from({ length: 500 }, (_, i) => `/q/${String(i).padStart(3, '0')}`);
  for (const k of [...good.slice(0, 250), bad, ...good.slice(250)]) {
    values.set(k, JSON.stringify({ k, pad: 'x'.repeat(200) }));
    q.add(k);
  }
  await waitFor('the 500 good keys', () => count('/q/'), (n) => n === 500, 20_000);
  t.equal(new Set(written).size, 500, 'each good key written');
  t.notOk(written.includes(bad));
  // The refused batch fails whole once; then each of its keys goes alone: all but the bad one land.
  t.type(failures[0].err, PermissionDeniedError);
  t.ok(rec.txns.every((r) => r.compare.length === 1 && r.compare[0].key === FENCE), 'every transaction carries the fence');
  t.ok(rec.txns.every((r) => r.success.length <= ETCD_MAX_TXN_OPS && txnBytes(r) <= TXN_BUDGET_BYTES), 'within etcd\'s limits');
  await sleep(2500);
  const badFailures = failures.filter((f) => f.keys.length === 1 && f.keys[0] === bad);
  t.ok(badFailures.length >= 3, `the bad key keeps retrying (${badFailures.length} times)`);
  const delays = badFailures.map((f) => f.retryMs);
  t.ok(delays[2] > delays[0] * 1.5, `its backoff grows (${delays.join(', ')} ms)`);
  t.ok(delays.every((d) => d <= 800 * 1.2), 'capped');
  t.equal(written.length, 500, 'nothing else is written again meanwhile');
  // The others keep being published while the bad key backs off.
  values.set(good[7], '{"changed": true}');
  q.add(good[7]);
  await waitFor('a change to another key', async () => (await admin.get(good[7]))?.value, (v) => v === '{"changed": true}', 5000);
  t.equal(q.retrying.size, 1, 'only the bad key is retrying');
  t.ok(q.retrying.has(bad));
  // Once etcd accepts it (the role is granted the key), its next retry lands it and it rejoins the batches.
  await etcd.etcdctl(['role', 'grant-permission', 'leader-role', 'readwrite', bad]);
  await waitFor('the bad key lands', async () => (await admin.get(bad))?.value, (v) => v !== undefined, 5000);
  t.equal(q.retrying.size, 0);
  await etcd.etcdctl(['role', 'revoke-permission', 'leader-role', bad]);
  await admin.txn({ compare: [], success: [{ type: 'delete', key: bad }] });
});

t.test('queue: a failed fence drops the batch, no retry', async (t) => {
  const kv = await openKv({ endpoints: etcd.endpoints, user: 'leader', password: 'leader-pw' }, 'gateway');
  t.teardown(() => kv.close());
  const fenced: string[][] = [];
  const q = new PublishQueue({
    kv,
    fence: { key: FENCE, target: 'value', op: '==', value: 'someone-else' },
    produce: (k) => ({ etcdKey: k, ops: [{ type: 'put', key: k, value: 'v' }] }),
    onFenced: (ks) => fenced.push(ks),
  });
  for (let i = 0; i < 300; i++) q.add(`/q/fenced/${i}`);
  await waitFor('fenced', async () => fenced.flat().length, (n) => n === 300, 10_000);
  t.equal(fenced.length, 3, 'three batches of at most 128');
  t.equal(await count('/q/fenced/'), 0, 'nothing written');
  t.equal(q.pending, 0, 'nothing left to retry');
});

t.test('queue: flush() sends what is ready at once, in one round, not a turn of the event loop later', async (t) => {
  const kv = await openKv({ endpoints: etcd.endpoints, user: 'leader', password: 'leader-pw' }, 'gateway');
  t.teardown(() => kv.close());
  const rec = recordingKv(kv);
  const written: string[] = [];
  const q = new PublishQueue({ kv: rec.kv, produce: (k) => ({ etcdKey: k, ops: [{ type: 'put', key: k, value: 'v' }] }), onWritten: (k) => written.push(k) });
  t.teardown(() => q.clear());
  for (let i = 0; i < 5; i++) q.add(`/q/flush/${i}`);
  t.equal(rec.txns.length, 0, 'add() alone waits for the next turn');
  q.flush();
  t.equal(rec.txns.length, 1, 'flush() has sent the transaction before returning');
  t.equal(rec.txns[0]!.success.length, 5, 'with every ready key');
  await waitFor('written', async () => written.length, (n) => n === 5, 10_000);
  await sleep(50);
  t.equal(rec.txns.length, 1, 'the turn scheduled by add() finds nothing left to send');
  t.equal(await count('/q/flush/'), 5);
});

/** Pool p000…p499 (or a name) of 40 hosts. */
const poolDef = (i: number | string) => checklessDef(typeof i === 'number' ? `p${String(i).padStart(3, '0')}` : i, 40);

t.test('leader: 500 pools published within the limits; one refused pool does not stall the others', async (t) => {
  const kv = await openKv({ endpoints: etcd.endpoints, user: 'leader', password: 'leader-pw' }, 'etcd3');
  t.teardown(() => kv.close());
  const rec = recordingKv(kv);
  const data = pooledData([...Array.from({ length: 500 }, (_, i) => poolDef(i)), poolDef('zz')]);
  let now = 1_700_000_000_000;
  const leader = new Leader({ kv: rec.kv, keys, data, quorum: 'majority', log: testLog, now: () => now, fence: { key: FENCE, holder: 'me' } });
  t.teardown(() => leader.deactivate());
  const started = Date.now();
  leader.activate();
  const statePrefix = `${keys.statePrefix()}eqiad/`;
  const headers = async () => (await admin.range({ key: statePrefix, prefix: true })).kvs.filter((e) => keys.parseState(e.key) !== undefined);
  await waitFor('500 states', async () => (await headers()).length, (n) => n === 500, 60_000);
  const ms = Date.now() - started;
  t.equal(await admin.get(keys.state({ dc: 'eqiad', name: 'zz' })), undefined, 'the refused pool is not published');
  const total = rec.txns.reduce((n, r) => n + txnBytes(r), 0);
  t.ok(total > 1_572_864, `500 states (${total} bytes) are more than one etcd request may carry`);
  t.ok(rec.txns.every((r) => r.success.length <= ETCD_MAX_TXN_OPS), `at most ${ETCD_MAX_TXN_OPS} pools per transaction`);
  t.ok(rec.txns.every((r) => txnBytes(r) <= TXN_BUDGET_BYTES), 'at most 1 MiB per transaction');
  t.ok(rec.txns.every((r) => r.compare.length === 1 && r.compare[0].key === FENCE), 'every transaction fenced');
  t.ok(rec.maxInFlight() > 1, `the round's transactions go out together (${rec.maxInFlight()} at once), not one after another`);
  t.ok(rec.maxInFlight() <= 4, 'at most 4 in flight');
  const sizes = rec.txns.map((r) => r.success.length);
  t.comment(`500 pools published in ${ms} ms, ${rec.txns.length} transactions (largest ${Math.max(...sizes)} ops, ${Math.max(...rec.txns.map(txnBytes))} bytes)`);
  // The first publication is inline (the leader does not know what the server keys hold); then every
  // server key is written, 40 per pool.
  t.ok((await headers()).every((e) => (JSON.parse(e.value) as { servers?: unknown }).servers !== undefined), 'first publications are inline');
  await waitFor('every server key', () => count(statePrefix), (n) => n === 500 + 500 * 40, 60_000);

  // While "zz" keeps failing, a change to another pool is published at once.
  const before = rec.txns.length;
  const path = 'eqiad/cl/p123';
  const host = 'p123-backend-005.eqiad.wmnet';
  now += 1000;
  data.admin.get(path)!.set(host, { weight: 10, pooled: 'no' });
  leader.adminChanged(path, host);
  const state = await waitFor('p123 republished', () => publishedState(admin, 'eqiad/p123'), (s) => s?.servers[host]?.enabled === false, 5000);
  t.equal(state!.servers[host]!.pooled, false, 'the depool is published');
  t.equal(Object.keys(state!.servers).length, 40, 'with all 40 servers');
  const zzKey = keys.state({ dc: 'eqiad', name: 'zz' });
  const zzTries = rec.txns.slice(before).filter((r) => r.success.some((o) => o.key === zzKey)).length;
  const p123Key = keys.state({ dc: 'eqiad', name: 'p123' });
  const p123 = rec.txns.slice(before).find((r) => r.success.some((o) => o.key === p123Key));
  t.same(p123?.success.map((o) => o.key), [keys.stateServer({ dc: 'eqiad', name: 'p123' }, host), p123Key], 'p123 went out as its one changed server key, then its header, in one small transaction');
  const header = JSON.parse((p123!.success[1] as { value: string }).value) as { servers?: unknown; hosts?: number };
  t.equal(header.servers, undefined, 'the header is in the split form');
  t.equal(header.hosts, 40, 'and counts the servers');
  t.comment(`zz retried ${zzTries} time(s) meanwhile, each alone`);
  t.ok(rec.txns.filter((r) => r.success.some((o) => o.key === zzKey)).slice(1).every((r) => r.success.length === 1), 'after its first failure, zz is only ever written alone');
});
