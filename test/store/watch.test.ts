// Watches against a real etcd that is killed and restarted mid-stream: the watcher's event
// sequence must equal etcd's own history exactly (nothing missed, nothing twice).
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import { CompactedError } from '../../src/store/errors.js';
import { listThenWatch, watchPrefix, type WatchEvent } from '../../src/store/watch.js';
import type { StoreError } from '../../src/model/errors.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const fmt = (e: WatchEvent) => `${e.modRevision} ${e.type} ${e.key}=${e.value}`;

/** etcd's own record of what happened under `prefix` from `from` to `to`, via a fresh watch. */
async function history(kv: Etcd3Kv, prefix: string, from: number, to: number): Promise<string[]> {
  const seen: WatchEvent[] = [];
  let error: StoreError | undefined;
  const w = watchPrefix(kv, prefix, from, { onEvents: (evs) => seen.push(...evs), onError: (e) => { error = e; } });
  await until('history replay', () => error !== undefined || (seen.length > 0 && seen[seen.length - 1].modRevision >= to));
  await w.stop();
  if (error) throw error;
  return seen.map(fmt);
}

t.test('a watch across etcd SIGKILL + restart delivers every event exactly once, in order', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = new Etcd3Kv({ endpoints: etcd.endpoints });
  const writer = await openKv({ endpoints: etcd.endpoints, timeoutMs: 500 }, 'gateway');
  t.teardown(async () => { await kv.close(); await writer.close(); });
  const prefix = '/watched/';
  const start = (await kv.range({ key: prefix, prefix: true })).revision + 1;

  const got: WatchEvent[] = [];
  const states: string[] = [];
  const w = watchPrefix(kv, prefix, start, {
    onEvents: (evs) => got.push(...evs),
    onError: (e) => t.fail(`unexpected watch error: ${e.message}`),
    onConnection: (s) => states.push(s),
  });
  t.teardown(() => w.stop());

  const acked: number[] = [];
  let seq = 0;
  /** Writes until `n` more writes were acknowledged, retrying through outages. */
  const write = async (n: number) => {
    const goal = acked.length + n;
    while (acked.length < goal) {
      const i = seq++;
      try {
        const r = await writer.txn({ compare: [], success: [
          { type: 'put', key: `${prefix}k${i % 3}`, value: String(i) },
          ...(i % 5 === 4 ? [{ type: 'delete' as const, key: `${prefix}k${(i + 1) % 3}` }] : []),
        ] });
        acked.push(r.revision);
      } catch {
        await sleep(20); // etcd is down: the write may or may not have landed; history decides
      }
    }
  };

  await write(20); // before
  await until('pre-restart events', () => got.length > 0 && got[got.length - 1].modRevision === acked[acked.length - 1]);
  const burst = write(40); // during: this burst straddles the kill and restart
  await sleep(30);
  await etcd.kill();
  await sleep(200);
  await etcd.restart();
  await burst;
  await write(20); // after
  const last = acked[acked.length - 1];
  await until('post-restart events', () => got.length > 0 && got[got.length - 1].modRevision === last);

  t.ok(states.includes('disconnected'), 'the watch really lost its stream');
  t.equal(states[states.length - 1], 'connected', 'and got it back');
  const replay = await history(kv, prefix, start, last);
  t.same(got.map(fmt), replay, 'exactly etcd\'s history: no event missed, none repeated');
  const revs = got.map((e) => e.modRevision);
  t.ok(revs.every((r, i) => i === 0 || r >= revs[i - 1]), 'revisions never go backwards');
  t.ok(acked.every((r) => revs.includes(r)), 'every acknowledged write was seen');
  t.ok(got.some((e) => e.type === 'delete'), 'deletes are delivered too');
});

t.test('a watch from a compacted revision fails with CompactedError; listThenWatch re-lists instead', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = new Etcd3Kv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const put = (k: string, v: string) => kv.txn({ compare: [], success: [{ type: 'put', key: k, value: v }] });
  const r1 = await put('/c/a', '1');
  await put('/c/b', '2');
  const r3 = await put('/c/a', '3');
  await etcd.etcdctl(['compact', String(r3.revision)]);

  let err: StoreError | undefined;
  const w = watchPrefix(kv, '/c/', r1.revision, { onEvents: () => t.fail('no events expected'), onError: (e) => { err = e; } });
  t.teardown(() => w.stop());
  await until('compaction error', () => err !== undefined);
  t.type(err, CompactedError);
  t.equal((err as CompactedError).compactRevision, r3.revision);

  // listThenWatch: snapshot, then changes; when its resume point is compacted away during an
  // outage it lists again rather than failing.
  const lists: string[][] = [];
  const events: string[] = [];
  const lw = await listThenWatch(kv, '/c/', {
    onList: (entries) => lists.push(entries.map((e) => `${e.key}=${e.value}`)),
    onEvents: (evs) => events.push(...evs.map((e) => `${e.key}=${e.value}`)),
    onError: (e) => t.fail(`unexpected: ${e.message}`),
  }, { minBackoffMs: 1500, maxBackoffMs: 1500 });
  t.teardown(() => lw.stop());
  t.same(lists, [['/c/a=3', '/c/b=2']], 'initial snapshot');
  const r4 = await put('/c/b', '4');
  await until('event after list', () => events.length === 1);
  t.same(events, ['/c/b=4'], 'changes after the snapshot arrive as events');

  await etcd.kill();
  await etcd.restart();
  // While the watcher waits to reconnect: more changes, then compaction past its resume point.
  const writer = await openKv({ endpoints: etcd.endpoints }, 'gateway');
  t.teardown(() => writer.close());
  await writer.txn({ compare: [], success: [{ type: 'put', key: '/c/a', value: '5' }] });
  const r6 = await writer.txn({ compare: [], success: [{ type: 'put', key: '/c/d', value: '6' }] });
  await etcd.etcdctl(['compact', String(r6.revision)]);
  t.ok(r6.revision > r4.revision);
  await until('re-list', () => lists.length === 2);
  t.same(lists[1], ['/c/a=5', '/c/b=4', '/c/d=6'], 're-listed the current contents');
  await put('/c/e', '7');
  await until('event after re-list', () => events.length === 2);
  t.same(events, ['/c/b=4', '/c/e=7'], 'and watches on from there');
});
