// Load: 500 concurrent operator-level writers (updateHosts, the compare-and-swap write under every
// poolctl verb, through the gateway Kv poolctl uses) and 20 watchers (list-then-watch, as poold and
// the LVS agent mirror etcd) for 60 s (POOLD_LOAD_SECONDS to change it) against one etcd.
// 250 host keys, two writers each: one owns `weight`, the other owns `pooled`, so every write races
// with another on the same key and must merge instead of overwriting. Proven at the end:
// - no lost update: each key holds both owners' last values;
// - audit: exactly one record per successful write, per key;
// - every watcher converges to exactly the state etcd holds.
// Loops are bounded in count (MAX_WRITES per writer) and time (the deadline).
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { sleep, waitFor } from '../daemon/harness.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import { Keys } from '../../src/store/keys.js';
import { updateHosts } from '../../src/store/write.js';
import { listThenWatch, type ListWatch } from '../../src/store/watch.js';
import type { Pooled } from '../../src/model/types.js';

const SECONDS = Number(process.env.POOLD_LOAD_SECONDS ?? 60);
const KEYS = 250;
const WATCHERS = 20;
// About MAX_WRITES/2 writes per writer over the run (~100 txn/s in all): enough to race every pair
// many times, light enough not to starve the test files running beside it.
const MAX_WRITES = 24;
const PREFIX = '/conftool/v1/pools/eqiad/load/';
const keyOf = (i: number) => `${PREFIX}svc${i % 10}/lh${String(i).padStart(4, '0')}.eqiad.wmnet`;
const POOLED: Pooled[] = ['no', 'yes'];

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const keys = new Keys();
// A few gateway clients shared by the writers, like many poolctl processes against one etcd.
const clients = Array.from({ length: 8 }, () => new GatewayKv({ endpoints: etcd.endpoints, timeoutMs: 10_000 }));
t.teardown(() => Promise.all(clients.map((c) => c.close())));
const kv = clients[0];

// Seed the keys, with a field another tool wrote: it must survive every merge.
for (let i = 0; i < KEYS; i += 50) {
  await kv.txn({
    compare: [],
    success: Array.from({ length: 50 }, (_, j) => ({ type: 'put' as const, key: keyOf(i + j), value: JSON.stringify({ weight: 0, pooled: 'yes', owner: 'other-tool' }) })),
  });
}

// --- 20 watchers, each with its own gRPC client, mirroring the prefix ---
interface Watcher { values: Map<string, string>; events: number; errors: string[]; lw: ListWatch; kv: Etcd3Kv }
const watchers: Watcher[] = [];
for (let w = 0; w < WATCHERS; w++) {
  const wkv = new Etcd3Kv({ endpoints: etcd.endpoints });
  const values = new Map<string, string>();
  const errors: string[] = [];
  const watcher = { values, events: 0, errors, kv: wkv } as Watcher;
  watcher.lw = await listThenWatch(wkv, PREFIX, {
    onList: (entries) => {
      values.clear();
      for (const e of entries) values.set(e.key, e.value);
    },
    onEvents: (evs) => {
      for (const ev of evs) {
        watcher.events++;
        if (ev.type === 'put') values.set(ev.key, ev.value);
        else values.delete(ev.key);
      }
    },
    onError: (err) => errors.push(err.message),
  });
  watchers.push(watcher);
}
t.teardown(async () => {
  for (const w of watchers) {
    await w.lw.stop();
    await w.kv.close();
  }
});

// --- 500 writers ---
interface Writer { key: string; field: 'weight' | 'pooled'; last: number | Pooled | undefined; ok: number; conflicts: number; attempts: number }
const writers: Writer[] = [];
for (let i = 0; i < KEYS; i++) {
  writers.push({ key: keyOf(i), field: 'weight', last: undefined, ok: 0, conflicts: 0, attempts: 0 });
  writers.push({ key: keyOf(i), field: 'pooled', last: undefined, ok: 0, conflicts: 0, attempts: 0 });
}
const deadline = Date.now() + SECONDS * 1000;
// Spread the writes over the whole run: about MAX_WRITES/2 per writer in SECONDS.
const pauseMs = (SECONDS * 1000) / (MAX_WRITES / 2);

/** The same pseudo-random pause for both owners of a key, so the two really collide. */
const pauseOf = (keyIndex: number, k: number) => pauseMs * (0.5 + ((keyIndex * 7919 + k * 104729) % 1000) / 1000);

async function runWriter(w: Writer, n: number): Promise<void> {
  const keyIndex = Math.floor(n / 2);
  await sleep(pauseOf(keyIndex, 0) - pauseMs / 2);
  for (let k = 1; k <= MAX_WRITES && Date.now() < deadline; k++) {
    // Each write changes the owned field (weights count up; pooled alternates no/yes from the seeded
    // yes), so each is audited.
    const value = w.field === 'weight' ? k : POOLED[(k - 1) % 2];
    const r = await updateHosts(clients[n % clients.length], [{ key: w.key, patch: { [w.field]: value } }],
      { keys, actor: `writer-${n}`, reason: `${w.field} ${value}` });
    w.attempts += r.attempts;
    if (r.attempts > 1) w.conflicts++;
    if (!r.results[0].changed) throw new Error(`writer ${n}: write ${k} changed nothing`);
    w.ok++;
    w.last = value;
    await sleep(pauseOf(keyIndex, k));
  }
}

t.test(`${writers.length} writers and ${WATCHERS} watchers for ${SECONDS} s`, async (t) => {
  const started = Date.now();
  const results = await Promise.allSettled(writers.map((w, n) => runWriter(w, n)));
  const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  t.same(failed.map((f) => String(f.reason)), [], 'no writer failed (conflicts are retried, never surfaced)');
  const total = writers.reduce((a, w) => a + w.ok, 0);
  const conflicted = writers.reduce((a, w) => a + w.conflicts, 0);
  t.ok(writers.every((w) => w.ok >= 2), `every writer landed writes: ${total} writes in ${Date.now() - started} ms, ${conflicted} of them retried after a conflict`);
  t.ok(conflicted > 0, 'writers really raced on shared keys');

  // No lost update: both owners' last values, and the other tool's field.
  const r = await kv.range({ key: PREFIX, prefix: true });
  const stored = new Map(r.kvs.map((e) => [e.key, JSON.parse(e.value) as Record<string, unknown>]));
  let lost = 0;
  for (const w of writers) {
    const v = stored.get(w.key)!;
    if (w.last !== undefined && v[w.field] !== w.last) lost++;
    if (v.owner !== 'other-tool') lost++;
  }
  t.equal(lost, 0, 'every key holds both owners\' last values and the foreign field');

  // Audit: one record per successful write, per key (paged by key range: ids sort by time).
  const perKey = new Map<string, number>();
  const auditEnd = keys.auditPrefix().slice(0, -1) + '0';
  let from = keys.auditPrefix();
  let records = 0;
  for (let page = 0; page < 1000; page++) {
    const a = await kv.range({ key: from, end: auditEnd, limit: 5000 });
    for (const e of a.kvs) {
      const rec = JSON.parse(e.value) as { key: string };
      perKey.set(rec.key, (perKey.get(rec.key) ?? 0) + 1);
      records++;
    }
    if (!a.more) break;
    from = `${a.kvs[a.kvs.length - 1].key}\0`;
  }
  t.equal(records, total, 'as many audit records as writes');
  const expected = new Map<string, number>();
  for (const w of writers) expected.set(w.key, (expected.get(w.key) ?? 0) + w.ok);
  const mismatched = [...expected].filter(([k, n]) => (perKey.get(k) ?? 0) !== n);
  t.same(mismatched, [], 'per key: audit records == successful writes');

  // Every watcher converges to exactly what etcd holds.
  const truth = JSON.stringify([...r.kvs].map((e) => [e.key, e.value]).sort());
  for (const [i, w] of watchers.entries()) {
    await waitFor(`watcher ${i} converged`, async () => JSON.stringify([...w.values].sort()), (s) => s === truth, 15_000, 100);
    t.same(w.errors, [], `watcher ${i}: no errors`);
  }
  t.ok(watchers.every((w) => w.events >= total), 'every watcher saw every write as an event');
});
