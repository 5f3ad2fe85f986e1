// The etcd v2 client against Debian's etcd 3.4 started with --enable-v2: conftool's bytes round
// trip, every typed error a caller acts on (100, 101, 102, 104, 105, 401), directory listings, and
// the list-then-watch loop: no event missed, a watcher that fell behind the 1000-event history
// lists again, and a quiet watch on a busy etcd does not fall behind at all.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { V2Client, type V2Response } from '../../src/store/v2-client.js';
import { V2DirWatch } from '../../src/store/v2-watch.js';
import {
  V2CompareFailedError, V2IndexClearedError, V2KeyNotFoundError, V2NodeExistsError, V2NotADirError, V2NotAFileError, V2NotServedError,
} from '../../src/store/v2-errors.js';
import { StoreUnavailableError } from '../../src/store/errors.js';

const etcd = await startEtcd({ enableV2: true });
t.teardown(() => etcd.stop());
const v2 = new V2Client({ endpoints: etcd.endpoints });
t.teardown(() => v2.close());

const K = '/conftool/v1/pools/eqiad/sca/cxserver/sca1002.eqiad.wmnet';

t.test('conftool bytes round trip; etcdctl (v2) sees what we wrote and we see what it wrote', async (t) => {
  const value = '{"weight": 10, "pooled": "no", "note": "caf\\u00e9"}';
  const w = await v2.set(K, value);
  t.equal(w.action, 'set');
  t.equal(await etcd.etcdctlV2(['get', K]), `${value}\n`, 'etcdctl reads our bytes');
  await etcd.etcdctlV2(['set', K, '{"weight": 7, "pooled": "yes"}']);
  const leaf = await v2.getLeaf(K, { quorum: true });
  t.equal(leaf?.value, '{"weight": 7, "pooled": "yes"}');
  t.ok((leaf?.modifiedIndex ?? 0) > w.node.modifiedIndex, 'modifiedIndex moved on');
  // Key segments are URL-encoded: a space and a percent sign survive.
  await v2.set('/odd/a b%c', 'x');
  t.same((await v2.list('/odd')).leaves.map((l) => l.key), ['/odd/a b%c']);
});

t.test('compare-and-swap and create-only, with typed refusals', async (t) => {
  const key = '/cas/k';
  const created = await v2.set(key, '1', { prevExist: false });
  await t.rejects(v2.set(key, '2', { prevExist: false }), V2NodeExistsError, '105 node exists');
  const e = await v2.set(key, '2', { prevIndex: created.node.modifiedIndex }).catch((err: unknown) => err);
  t.equal((e as V2Response).node?.value, '2', 'CAS at the right index succeeds');
  const lost = await v2.set(key, '3', { prevIndex: created.node.modifiedIndex }).catch((err: unknown) => err);
  t.type(lost, V2CompareFailedError, '101 on a stale index');
  t.equal((lost as V2CompareFailedError).errorCode, 101);
  t.match((lost as Error).message, /\/cas\/k/, 'the message names the key');
  t.equal((await v2.getLeaf(key))?.value, '2', 'the lost CAS wrote nothing');
  await t.rejects(v2.delete(key, { prevIndex: created.node.modifiedIndex }), V2CompareFailedError, 'compareAndDelete on a stale index');
  await v2.delete(key, { prevIndex: (await v2.getLeaf(key))!.modifiedIndex });
  t.equal(await v2.getLeaf(key), undefined, 'absent: undefined, not an error');
  await t.rejects(v2.get(key), V2KeyNotFoundError, '100 key not found from get()');
});

t.test('directories: mkdir, not a file (102), not a dir (104), listing', async (t) => {
  t.equal(await v2.mkdir('/d1/a/b'), 'created');
  t.equal(await v2.mkdir('/d1/a/b'), 'exists');
  await t.rejects(v2.set('/d1/a', 'x'), V2NotAFileError, '102: a value where a directory is');
  await t.rejects(v2.getLeaf('/d1/a'), V2NotAFileError, 'getLeaf of a directory');
  await v2.set('/d1/f', 'v');
  await t.rejects(v2.set('/d1/f/below', 'x'), V2NotADirError, '104: below a value');
  await t.rejects(v2.mkdir('/d1/f'), V2NotADirError, 'mkdir over a value');
  await v2.set('/d1/a/b/c', '1');
  const l = await v2.list('/d1');
  t.same(l.leaves.map((x) => [x.key, x.value]).sort(), [['/d1/a/b/c', '1'], ['/d1/f', 'v']]);
  t.same(l.dirs.sort(), ['/d1', '/d1/a', '/d1/a/b']);
  t.ok(l.exists && l.etcdIndex > 0);
  const none = await v2.list('/nothing/here');
  t.same({ exists: none.exists, leaves: none.leaves }, { exists: false, leaves: [] });
  t.ok(none.etcdIndex > 0, 'a missing directory still reports the store index to watch from');
});

t.test('wait: the next change below a directory; 401 when the index left the history', async (t) => {
  const start = (await v2.list('/w')).etcdIndex;
  const pending = v2.wait('/w', { waitIndex: start + 1, recursive: true });
  await v2.set('/w/x/y', 'hello');
  const r = await pending;
  t.equal(r.event?.node.key, '/w/x/y');
  t.equal(r.event?.node.value, 'hello');
  // etcd keeps the last 1000 events: push the index 1100 writes further, then ask from before.
  for (let i = 0; i < 1100; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => v2.set('/busy/k', String(i + j))));
  const cleared = await v2.wait('/w', { waitIndex: start + 1, recursive: true }).catch((err: unknown) => err);
  t.type(cleared, V2IndexClearedError, '401 event index cleared');
  t.equal((cleared as V2IndexClearedError).errorCode, 401);
  // A quiet wait ends after maxWaitMs with no event and the watch's start index.
  const quiet = await v2.wait('/w', { waitIndex: (await v2.list('/w')).etcdIndex + 1, recursive: true, maxWaitMs: 200 });
  t.equal(quiet.event, null);
  t.ok(quiet.etcdIndex >= start + 1100, 'X-Etcd-Index of the watch');
});

t.test('list-then-watch: every change once, re-list after falling behind, quiet watch keeps up on a busy etcd', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const events: string[] = [];
  const listings: string[][] = [];
  const w = new V2DirWatch(v2, '/lw', {
    onList: async (l) => {
      listings.push(l.leaves.map((x) => `${x.key}=${x.value}`).sort());
      if (listings.length === 1) await gate; // the first listing is "slow": the watcher falls behind
    },
    onEvent: (ev) => events.push(`${ev.action} ${ev.node.key}=${ev.node.value ?? ''}`),
  }, { maxWaitMs: 300 });
  await v2.set('/lw/a', '1');
  w.start();
  t.teardown(() => w.stop());
  while (listings.length === 0) await new Promise((r) => setTimeout(r, 10));
  await v2.set('/lw/b', '2');
  for (let i = 0; i < 1100; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => v2.set('/busy/k', String(i + j))));
  release();
  while (listings.length < 2) await new Promise((r) => setTimeout(r, 10));
  t.same(listings, [['/lw/a=1'], ['/lw/a=1', '/lw/b=2']], 'behind by more than 1000 events: listed again, b is in the new listing');
  t.equal(w.lists, 2);
  // Now quiet below /lw while 1100 writes happen elsewhere, longer than several maxWaitMs.
  for (let i = 0; i < 1100; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => v2.set('/busy/k', String(i + j))));
    await new Promise((r) => setTimeout(r, 40));
  }
  await v2.set('/lw/c', '3');
  await v2.delete('/lw/a');
  const deadline = Date.now() + 5000;
  while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.same(events, ['set /lw/c=3', 'delete /lw/a='], 'the changes after the re-list, each once');
  t.equal(w.lists, 2, 'no further re-list: the quiet watch moved its index with X-Etcd-Index');
  await w.stop();
});

t.test('an etcd without --enable-v2 is a clear error; an unreachable one is StoreUnavailableError', async (t) => {
  const plain = await startEtcd();
  t.teardown(() => plain.stop());
  const c = new V2Client({ endpoints: plain.endpoints });
  t.teardown(() => c.close());
  const err = await c.getLeaf(K).catch((e: unknown) => e);
  t.type(err, V2NotServedError);
  t.match((err as Error).message, /does not serve the v2 API.*--enable-v2/);
  const dead = new V2Client({ endpoints: ['http://127.0.0.1:1'], timeoutMs: 1000 });
  t.teardown(() => dead.close());
  await t.rejects(dead.getLeaf(K), StoreUnavailableError);
});
