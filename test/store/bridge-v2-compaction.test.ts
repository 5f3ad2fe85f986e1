// The v2 bridge (src/store/bridge-v2.ts) survives a compaction behind its v3 watch: poold's leader
// compacts etcd every --etcd-compaction-interval, and a bridge cut off from etcd for longer comes
// back with a resume revision etcd no longer has. Its v3 watch re-lists (store/watch.ts) and the
// listing reconciles every key, so a v3 change made during the outage still reaches v2, and the
// watch keeps working (no "v3 watch stopped" error). The bridge's v3 connection goes through a TCP
// proxy (test/helpers/stall-proxy.ts) that resets it; the test writes and compacts directly.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { StallProxy } from '../helpers/stall-proxy.js';
import { sleep, waitFor } from '../daemon/harness.js';
import { openKv } from '../../src/store/connection.js';
import { CompactedError } from '../../src/store/errors.js';
import { Keys } from '../../src/store/keys.js';
import type { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import { V2Client } from '../../src/store/v2-client.js';
import { ConftoolV2Bridge, type BridgeLog } from '../../src/store/bridge-v2.js';

const etcd = await startEtcd({ enableV2: true });
t.teardown(() => etcd.stop());
const gw = await openKv({ endpoints: etcd.endpoints }, 'gateway');
t.teardown(() => gw.close());
const v2 = new V2Client({ endpoints: etcd.endpoints });
t.teardown(() => v2.close());
const target = new URL(etcd.clientUrl);
const proxy = new StallProxy({ host: target.hostname, port: Number(target.port) });
await proxy.start();
t.teardown(() => proxy.close());
const viaProxy = (await openKv({ endpoints: [proxy.url] }, 'etcd3')) as Etcd3Kv;
t.teardown(() => viaProxy.close());

const errors: string[] = [];
const log: BridgeLog = { info: () => undefined, warn: () => undefined, error: (_o, msg) => { errors.push(msg); } };
const keys = new Keys({ conftool: '/bc/conftool/v1', poold: '/bc/poold/v1' });
// resyncMs far beyond the test: only the watch (and its re-list) can carry changes across.
const bridge = new ConftoolV2Bridge({ v2, kv: viaProxy, keys, log, resyncMs: 3_600_000 });
await bridge.start();
t.teardown(() => bridge.stop());

const key = keys.host({ dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: 'sca1001.eqiad.wmnet' });
const put3 = (value: string) => gw.txn({ compare: [], success: [{ type: 'put', key, value }] });
const v2Value = async () => (await v2.getLeaf(key))?.value;

t.test('a v3 change made while the bridge was cut off and compacted past its watch reaches v2', async (t) => {
  await put3('{"weight": 10, "pooled": "yes"}');
  t.equal(await waitFor('v2 copy', v2Value, (v) => v === '{"weight": 10, "pooled": "yes"}'), '{"weight": 10, "pooled": "yes"}');
  // Let the reconcile its own v2 write triggers (through the v2 watch) finish: after the cut only
  // the v3 watch's re-list can carry the change.
  await sleep(1000);
  const before = (await gw.range({ key: '/', limit: 1 })).revision;

  proxy.cut();
  await put3('{"weight": 10, "pooled": "no"}');
  const last = await gw.txn({ compare: [], success: [{ type: 'put', key: '/bc/other', value: 'x' }] });
  await etcd.etcdctl(['compact', String(last.revision)]);
  const err = await gw.range({ key, revision: before + 1 }).then(() => undefined, (e: unknown) => e);
  t.type(err, CompactedError, `revision ${before + 1} (where the bridge's watch resumes) is compacted away`);
  t.equal(await v2Value(), '{"weight": 10, "pooled": "yes"}', 'v2 still holds the old value while the bridge is cut off');

  proxy.release();
  t.equal(await waitFor('the change reaches v2', v2Value, (v) => v === '{"weight": 10, "pooled": "no"}', 30_000), '{"weight": 10, "pooled": "no"}');
  await put3('{"weight": 5, "pooled": "no"}');
  t.equal(await waitFor('and the watch goes on', v2Value, (v) => v === '{"weight": 5, "pooled": "no"}', 10_000), '{"weight": 5, "pooled": "no"}');
  t.same(errors, [], 'no bridge error (the v3 watch never stopped)');
});
