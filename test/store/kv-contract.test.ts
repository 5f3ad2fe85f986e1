// One contract, two adapters: the JSON-gateway Kv (CLI) and the etcd3 Kv (daemon) must behave alike.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv, type KvAdapter } from '../../src/store/connection.js';
import { AuthenticationError, CompactedError, StoreUnavailableError } from '../../src/store/errors.js';
import { freePort } from '../helpers/etcd-ports.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());

for (const adapter of ['gateway', 'etcd3'] as KvAdapter[]) {
  t.test(`${adapter} adapter`, async (t) => {
    const kv = await openKv({ endpoints: etcd.endpoints }, adapter);
    t.teardown(() => kv.close());
    const p = `/contract/${adapter}/`;

    t.equal(await kv.get(`${p}missing`), undefined, 'missing key reads as undefined');

    const created = await kv.txn({
      compare: [{ key: `${p}a`, target: 'create', op: '==', value: 0 }],
      success: [{ type: 'put', key: `${p}a`, value: 'héllo ✓' }, { type: 'put', key: `${p}b`, value: '2' }],
    });
    t.ok(created.succeeded, 'create-if-absent succeeds on a new key');
    const a = await kv.get(`${p}a`);
    t.same(a, { key: `${p}a`, value: 'héllo ✓', createRevision: created.revision, modRevision: created.revision, version: 1, lease: '0' },
      'both puts landed at the txn revision; UTF-8 survives');
    t.equal((await kv.get(`${p}b`))?.modRevision, created.revision, 'one revision for the whole txn');

    const again = await kv.txn({
      compare: [{ key: `${p}a`, target: 'create', op: '==', value: 0 }],
      success: [{ type: 'put', key: `${p}a`, value: 'overwritten' }],
      failure: [{ type: 'put', key: `${p}failure-ran`, value: 'yes' }],
    });
    t.notOk(again.succeeded, 'create-if-absent fails when the key exists');
    t.equal((await kv.get(`${p}a`))?.value, 'héllo ✓', 'success ops did not run');
    t.equal((await kv.get(`${p}failure-ran`))?.value, 'yes', 'failure ops ran');

    const stale = await kv.txn({
      compare: [{ key: `${p}a`, target: 'mod', op: '==', value: created.revision - 1 }],
      success: [{ type: 'put', key: `${p}a`, value: 'x' }],
    });
    t.notOk(stale.succeeded, 'CAS on a stale mod revision fails');
    const cas = await kv.txn({
      compare: [{ key: `${p}a`, target: 'mod', op: '==', value: created.revision },
        { key: `${p}a`, target: 'version', op: '==', value: 1 },
        { key: `${p}a`, target: 'value', op: '==', value: 'héllo ✓' }],
      success: [{ type: 'put', key: `${p}a`, value: 'v2' }],
    });
    t.ok(cas.succeeded, 'CAS on the current mod revision, version and value succeeds');
    t.ok(cas.revision > created.revision);

    const old = await kv.range({ key: `${p}a`, revision: created.revision });
    t.equal(old.kvs[0]?.value, 'héllo ✓', 'reads at an old revision');

    for (let i = 0; i < 5; i++) {
      await kv.txn({ compare: [], success: [{ type: 'put', key: `${p}list/${i}`, value: String(i) }] });
    }
    const page = await kv.range({ key: `${p}list/`, prefix: true, limit: 2 });
    t.same(page.kvs.map((e) => e.value), ['0', '1'], 'prefix range ascends by key');
    t.ok(page.more, 'more is set when the limit cut the result');
    t.equal(page.count, 5, 'count covers the whole range');
    const desc = await kv.range({ key: `${p}list/`, prefix: true, limit: 2, order: 'descend' });
    t.same(desc.kvs.map((e) => e.value), ['4', '3'], 'descend returns the last keys first');
    const bounded = await kv.range({ key: `${p}list/1`, end: `${p}list/3` });
    t.same(bounded.kvs.map((e) => e.value), ['1', '2'], 'explicit end is exclusive');
    t.ok(page.revision >= cas.revision, 'range reports the store revision');

    const del = await kv.txn({ compare: [], success: [{ type: 'delete', key: `${p}list/`, prefix: true }] });
    t.ok(del.succeeded);
    t.equal((await kv.range({ key: `${p}list/`, prefix: true })).count, 0, 'prefix delete removed every key');
    await kv.txn({ compare: [], success: [{ type: 'delete', key: `${p}b` }] });
    t.equal(await kv.get(`${p}b`), undefined, 'single delete');

    const granted = await etcd.etcdctl(['lease', 'grant', '60']);
    const leaseId = BigInt('0x' + /lease ([0-9a-f]+) granted/.exec(granted)![1]).toString();
    await kv.txn({ compare: [], success: [{ type: 'put', key: `${p}leased`, value: 'l', lease: leaseId }] });
    t.equal((await kv.get(`${p}leased`))?.lease, leaseId, 'puts attach 64-bit lease ids intact');

    // Compaction: a read below the compaction point is a typed error (callers re-list).
    await etcd.etcdctl(['compact', String(cas.revision)]);
    await t.rejects(kv.range({ key: `${p}a`, revision: created.revision }), CompactedError);
  });

  t.test(`${adapter} adapter: credentials for an etcd without auth are refused clearly`, async (t) => {
    const kv = await openKv({ endpoints: etcd.endpoints, user: 'someone', password: 'pw' }, adapter);
    t.teardown(() => kv.close());
    const err = await kv.get('/x').catch((e: unknown) => e);
    t.type(err, AuthenticationError);
    t.match((err as Error).message, /authentication disabled, but an etcd user \("someone"\) was configured/);
  });

  t.test(`${adapter} adapter: unreachable etcd is StoreUnavailableError; a dead first endpoint fails over`, async (t) => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const down = await openKv({ endpoints: [dead], timeoutMs: 1000 }, adapter);
    t.teardown(() => down.close());
    await t.rejects(down.get('/x'), StoreUnavailableError);
    const failover = await openKv({ endpoints: [dead, ...etcd.endpoints], timeoutMs: 1000 }, adapter);
    t.teardown(() => failover.close());
    await failover.txn({ compare: [], success: [{ type: 'put', key: `/contract/${adapter}/fo`, value: 'ok' }] });
    t.equal((await failover.get(`/contract/${adapter}/fo`))?.value, 'ok');
  });
}
