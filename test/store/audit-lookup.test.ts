// The writer of a conftool change is found by the change's revision (the audit record written in the
// same transaction), however many audited writes came after it; a raw etcd write has none. Force
// markers share the conftool write's transaction and decode in one place, with clear errors.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { updateHosts } from '../../src/store/write.js';
import { auditRecordOf, auditRecordsAt } from '../../src/store/audit-lookup.js';
import { forceMarkerOp } from '../../src/store/force-marker.js';
import { decodeForceMarker } from '../../src/store/decode.js';
import { InvalidStoredValueError } from '../../src/model/errors.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const gw = await openKv({ endpoints: etcd.endpoints }, 'gateway');
const grpc = await openKv({ endpoints: etcd.endpoints }, 'etcd3');
t.teardown(() => Promise.all([gw.close(), grpc.close()]));
const keys = new Keys();
const hk = (i: number) => ({ dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: `sca${1001 + i}.eqiad.wmnet` });

for (let i = 0; i < 70; i++) await gw.txn({ compare: [], success: [{ type: 'put', key: keys.host(hk(i)), value: '{"pooled": "yes", "weight": 10}' }] });

t.test('found by revision after 70 newer audited writes; a raw write has no writer', async (t) => {
  const first = await updateHosts(gw, [{ key: keys.host(hk(0)), patch: { pooled: 'no' } }], { keys, actor: 'alice', reason: 'first' });
  // 70 later audited writes (more than any "newest N" scan would look at), one per transaction.
  for (let i = 1; i < 70; i++) await updateHosts(gw, [{ key: keys.host(hk(i)), patch: { pooled: 'no' } }], { keys, actor: 'bob', reason: '' });
  for (const kv of [gw, grpc]) {
    const rec = await auditRecordOf(kv, keys, keys.host(hk(0)), first.revision);
    t.match(rec, { actor: 'alice', reason: 'first', key: keys.host(hk(0)), revision: first.revision });
    // With a time hint the read is narrowed to recent ids and finds the same record.
    t.match(await auditRecordOf(kv, keys, keys.host(hk(0)), first.revision, { hint: Date.now() }), { actor: 'alice' });
  }
  // A raw write: its revision carries no audit record.
  const raw = await gw.txn({ compare: [], success: [{ type: 'put', key: keys.host(hk(0)), value: '{"pooled": "yes", "weight": 10}' }] });
  t.equal(await auditRecordOf(grpc, keys, keys.host(hk(0)), raw.revision), null);
  // The record of another key at the same revision is not this key's writer.
  t.equal(await auditRecordOf(grpc, keys, keys.host(hk(1)), first.revision), null);
});

t.test('one transaction of many hosts: every record at that revision, by key', async (t) => {
  const r = await updateHosts(gw, [5, 6, 7].map((i) => ({ key: keys.host(hk(i)), patch: { pooled: 'yes' as const } })), { keys, actor: 'carol', reason: '' });
  const recs = await auditRecordsAt(grpc, keys, r.revision);
  t.same([...recs.keys()].sort(), [5, 6, 7].map((i) => keys.host(hk(i))));
});

t.test('a force marker is written in the same transaction as the conftool value', async (t) => {
  const key = keys.host(hk(9));
  const r = await updateHosts(gw, [{ key, patch: { pooled: 'no' }, rewrite: true, extra: [forceMarkerOp(keys, hk(9), { op: 'op-1', actor: 'dave', reason: 'why', time: '2026-12-06T00:00:00.000Z' })] }],
    { keys, actor: 'dave', reason: 'why', operationId: 'op-1' });
  const conf = await gw.get(key);
  const marker = await gw.get(keys.force(hk(9)));
  t.equal(conf?.modRevision, r.revision);
  t.equal(marker?.modRevision, r.revision);
  t.same(decodeForceMarker(marker!.key, marker!.value), { key, op: 'op-1', actor: 'dave', reason: 'why', time: '2026-12-06T00:00:00.000Z' });
  // rewrite: an unchanged value is written again (a new revision) so the marker has a write to belong to.
  const again = await updateHosts(gw, [{ key, patch: { pooled: 'no' }, rewrite: true }], { keys, actor: 'dave', reason: '' });
  t.ok(again.revision > r.revision);
  t.equal(again.results[0].changed, true);
});

t.test('a corrupt force marker is a clear InvalidStoredValueError', async (t) => {
  const k = '/poold/v1/force/eqiad/sca/cxserver/x';
  t.throws(() => decodeForceMarker(k, 'nope'), { name: 'InvalidStoredValueError', message: /invalid force marker at \/poold\/v1\/force\/eqiad\/sca\/cxserver\/x: not JSON/ });
  t.throws(() => decodeForceMarker(k, '[]'), /expected an object/);
  t.throws(() => decodeForceMarker(k, '{"key":"a","op":"b","actor":7,"reason":"","time":"t"}'), /"actor" must be a string, got 7/);
  t.throws(() => decodeForceMarker(k, '{"key":"a","op":"b","actor":"","reason":"","time":"t"}'), /"actor" is empty/);
  try {
    decodeForceMarker(k, '{');
  } catch (err) {
    t.ok(err instanceof InvalidStoredValueError);
  }
});
