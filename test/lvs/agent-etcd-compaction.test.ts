// The LVS agent's etcd source (src/lvs/agent-etcd.ts) survives a compaction behind its watches:
// poold's leader compacts etcd every --etcd-compaction-interval, and an agent cut off from etcd
// for longer than that comes back with a resume revision etcd no longer has. Its watches must then
// re-list (store/watch.ts listThenWatch), and the re-list must replace what it held: a service
// deleted during the outage is gone, a changed state is the new one. The agent's connection goes
// through a TCP proxy (test/helpers/stall-proxy.ts) that resets it, while the test writes and
// compacts on etcd directly.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { StallProxy } from '../helpers/stall-proxy.js';
import { openKv } from '../../src/store/connection.js';
import { CompactedError } from '../../src/store/errors.js';
import { Keys } from '../../src/store/keys.js';
import { EtcdSource } from '../../src/lvs/agent-etcd.js';
import { waitFor } from '../daemon/harness.js';
import { poolState, serviceDef } from './lvs-fixtures.js';
import { putDef, putState } from './agent-helpers.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints }, 'gateway');
t.teardown(() => kv.close());
const target = new URL(etcd.clientUrl);
const proxy = new StallProxy({ host: target.hostname, port: Number(target.port) });
await proxy.start();
t.teardown(() => proxy.close());

const keep = serviceDef();
const gone = serviceDef({ service: 'citoid', lvs: { ip: '10.2.2.19' } });
const H1 = 'sca1001.eqiad.wmnet';
await putDef(kv, keep);
await putState(kv, poolState(keep, { [H1]: { weight: 10 } }, 1));
await putDef(kv, gone);
await putState(kv, poolState(gone, { [H1]: {} }, 1));

const source = new EtcdSource({ etcd: { endpoints: [proxy.url] }, filter: () => true, retryMs: 200 });
t.teardown(() => source.stop());
await source.start(() => undefined);
const view = () => {
  const snap = source.snapshot();
  return { services: [...snap.keys()].sort(), weight: snap.get('eqiad/cxserver')?.state?.servers[H1]?.weight };
};

t.test('a watch resuming behind a compaction re-lists: deleted services go, changed states are new', async (t) => {
  await waitFor('listed', async () => source.healthy() && view(), (v) => v !== false && v.services.length === 2);
  t.same(view(), { services: ['eqiad/citoid', 'eqiad/cxserver'], weight: 10 });
  const before = (await kv.range({ key: '/', limit: 1 })).revision;

  proxy.cut();
  await waitFor('the source notices the outage', async () => source.healthy(), (h) => !h);
  const keys = new Keys();
  await kv.txn({ compare: [], success: [{ type: 'delete', key: keys.service(gone) }, { type: 'delete', key: keys.state(gone) }] });
  await putState(kv, poolState(keep, { [H1]: { weight: 3 } }, 2));
  const compactTo = (await kv.range({ key: '/', limit: 1 })).revision;
  t.ok(compactTo > before + 1, 'the compaction goes past the source\'s resume revision');
  await etcd.etcdctl(['compact', String(compactTo)]);
  const err = await kv.range({ key: keys.state(keep), revision: before + 1 }).then(() => undefined, (e: unknown) => e);
  t.type(err, CompactedError, `revision ${before + 1} (where the watches resume) is compacted away`);

  proxy.release();
  const v = await waitFor('re-listed', async () => source.healthy() && view(), (x) => x !== false && x.weight === 3 && x.services.length === 1, 30_000);
  t.same(v, { services: ['eqiad/cxserver'], weight: 3 }, 'the deleted service is gone, the changed state is the new one');
  t.equal(source.lastError(), undefined, 'no error left behind');
});
