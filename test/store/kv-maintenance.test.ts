// Both Kv adapters' maintenance calls (KvMaintenance in src/store/kv.ts) against a real etcd:
// compact discards older revisions and refuses a revision already compacted with a CompactedError
// that says so; status reports the database size and no alarm. (A raised NOSPACE alarm through
// status(): test/daemon/etcd-nospace.test.ts.)
import t from 'tap';
import { addPrefixUser, enableAuth, startEtcd } from '../helpers/etcd.js';
import { openKv, type KvAdapter } from '../../src/store/connection.js';
import { CompactedError } from '../../src/store/errors.js';
import type { Kv, KvMaintenance } from '../../src/store/kv.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());

for (const adapter of ['gateway', 'etcd3'] as KvAdapter[]) {
  t.test(`${adapter} adapter`, async (t) => {
    const kv = (await openKv({ endpoints: etcd.endpoints }, adapter)) as Kv & KvMaintenance;
    t.teardown(() => kv.close());
    const key = `/maint/${adapter}`;
    const put = async (v: string) => (await kv.txn({ compare: [], success: [{ type: 'put', key, value: v }] })).revision;
    const r1 = await put('1');
    const r2 = await put('2');
    const r3 = await put('3');

    await kv.compact(r2);
    const old = await kv.range({ key, revision: r1 }).then(() => undefined, (e: unknown) => e);
    t.type(old, CompactedError, 'a revision below the compaction is gone');
    t.equal((await kv.range({ key, revision: r2 })).kvs[0]?.value, '2', 'the compaction revision itself still reads');
    t.equal((await kv.range({ key, revision: r3 })).kvs[0]?.value, '3');

    const again = await kv.compact(r2).then(() => undefined, (e: unknown) => e);
    t.type(again, CompactedError, 'compacting to a compacted revision is refused');
    t.match((again as Error).message, `etcd history is already compacted at or past revision ${r2}`);

    const st = await kv.status();
    t.ok(st.dbSize > 0, `dbSize ${st.dbSize}`);
    t.ok(st.dbSizeInUse !== undefined && st.dbSizeInUse > 0 && st.dbSizeInUse <= st.dbSize, `dbSizeInUse ${st.dbSizeInUse} (etcd 3.4)`);
    t.same(st.alarms, [], 'no alarm');
  });
}

t.test('with auth on, a prefix-only user compacts and reads status', async (t) => {
  const secured = await startEtcd();
  t.teardown(() => secured.stop());
  await enableAuth(secured);
  await addPrefixUser(secured, 'poold', 'pw', [{ prefix: '/poold/', perm: 'readwrite' }]);
  for (const adapter of ['gateway', 'etcd3'] as KvAdapter[]) {
    const kv = (await openKv({ endpoints: secured.endpoints, user: 'poold', password: 'pw' }, adapter)) as Kv & KvMaintenance;
    t.teardown(() => kv.close());
    const r = await kv.txn({ compare: [], success: [{ type: 'put', key: `/poold/${adapter}`, value: '1' }] });
    await kv.txn({ compare: [], success: [{ type: 'put', key: `/poold/${adapter}`, value: '2' }] });
    await kv.compact(r.revision + 1);
    const old = await kv.range({ key: `/poold/${adapter}`, revision: r.revision }).then(() => undefined, (e: unknown) => e);
    t.type(old, CompactedError, `${adapter}: compacted as user poold`);
    t.ok((await kv.status()).dbSize > 0, `${adapter}: status as user poold`);
  }
});
