// A watch that catches up on a backlog bigger than 4 MiB. etcd sends the events of several
// revisions in one watch response, with no size cap of its own; grpc-js refused messages over 4 MiB
// by default, so such a watch failed and restarted at the same revision forever (at eqiad's size,
// after one depool of a 240-host pool, 44 published states changed together). Five 1.2 MiB values
// (each its own transaction, within etcd's default 1.5 MiB request limit), then a watch from before
// the first: every event arrives, and the connection never drops.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import { watchPrefix, type WatchEvent } from '../../src/store/watch.js';

t.test('a catch-up backlog over 4 MiB arrives whole', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = new Etcd3Kv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const prefix = '/watch-large/';
  const big = 'x'.repeat(1_200_000);
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const r = await kv.txn({ compare: [], success: [{ type: 'put', key: `${prefix}k${i}`, value: `${i}${big}` }] });
    if (i === 0) start = r.revision;
  }
  const seen: WatchEvent[] = [];
  let drops = 0;
  const errors: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of 5 events in 20 s; ${drops} disconnects; errors: ${errors.join('; ')}`)), 20_000);
    const w = watchPrefix(kv, prefix, start, {
      onEvents: (events) => {
        seen.push(...events);
        if (seen.length >= 5) {
          clearTimeout(timer);
          void w.stop().then(resolve, reject);
        }
      },
      onError: (err) => errors.push(err.message),
      onConnection: (state, err) => { if (state === 'disconnected') { drops++; errors.push(String((err as Error | undefined)?.message ?? err)); } },
    });
  });
  t.same(seen.map((e) => e.key), [0, 1, 2, 3, 4].map((i) => `${prefix}k${i}`));
  t.same(seen.map((e) => (e.value ?? '').length), Array(5).fill(1_200_001), 'every value whole');
  t.equal(drops, 0, 'the watch never dropped its connection');
});
