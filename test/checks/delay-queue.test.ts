// The shared fixed-delay queue behind the unclosed grace: items fire in order after the delay, a
// cancelled item never fires and is no longer held, and slots stay valid across compaction.
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { FixedDelayQueue } from '../../src/checks/delay-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('each item fires once, no earlier than the delay after it was added, in order', async (t) => {
  const fired: { item: number; late: number }[] = [];
  const added = new Map<number, number>();
  const q = new FixedDelayQueue<number>(50, (item) => fired.push({ item, late: performance.now() - added.get(item)! }));
  for (let i = 0; i < 5; i++) {
    added.set(i, performance.now());
    q.add(i);
    await sleep(10);
  }
  await sleep(200);
  t.same(fired.map((f) => f.item), [0, 1, 2, 3, 4]);
  // Node may run a timer up to a millisecond before its nominal time (ms rounding); never more.
  t.ok(fired.every((f) => f.late >= 49), `none early: ${fired.map((f) => f.late.toFixed(1))}`);
  t.equal(q.length, 0);
});

t.test('a cancelled item never fires; cancelling twice or after firing is harmless', async (t) => {
  const fired: string[] = [];
  const q = new FixedDelayQueue<string>(30, (item) => fired.push(item));
  const a = q.add('a');
  const b = q.add('b');
  q.add('c');
  q.cancel(b);
  q.cancel(b);
  await sleep(100);
  q.cancel(a);
  t.same(fired, ['a', 'c']);
  const d = q.add('d');
  q.cancel(d);
  await sleep(80);
  t.same(fired, ['a', 'c'], 'd was cancelled');
});

t.test('slots stay valid after the queue compacts its arrays', async (t) => {
  const fired: number[] = [];
  const q = new FixedDelayQueue<number>(20, (item) => fired.push(item));
  for (let i = 0; i < 3000; i++) q.add(i);
  await sleep(80);
  t.equal(fired.length, 3000);
  // A second generation of slots, numbered after the first: cancelling by slot still hits the right item.
  const slots = Array.from({ length: 3000 }, (_, i) => q.add(10_000 + i));
  for (const s of slots.filter((_, i) => i % 2 === 1)) q.cancel(s);
  await sleep(80);
  const second = fired.slice(3000);
  t.equal(second.length, 1500);
  t.ok(second.every((x) => x % 2 === 0), 'exactly the even (not cancelled) items fired');
});

t.test('an item added while items fire does not hold back older ones; a drained queue says so', async (t) => {
  const fired: { item: string; at: number }[] = [];
  let emptied = 0;
  const t0 = performance.now();
  const q: FixedDelayQueue<string> = new FixedDelayQueue<string>(
    40,
    (item) => {
      fired.push({ item, at: performance.now() - t0 });
      // Re-arming from inside a firing (what a grace or deadline handler could do).
      if (item === 'a') q.add('late');
    },
    () => emptied++,
  );
  q.add('a');
  await sleep(15);
  q.add('b');
  await sleep(150);
  t.same(fired.map((f) => f.item), ['a', 'b', 'late']);
  const b = fired.find((f) => f.item === 'b')!;
  // b is due 55 ms after t0; held behind 'late' it would fire near 80 ms.
  t.ok(b.at < 75, `b fired at ${b.at.toFixed(1)} ms, not held back by the item added at 40 ms`);
  t.equal(emptied, 1, 'onEmpty once, when the last item fired');
});

t.test('a live item behind many cancelled ones fires alone, on time, and the queue drains', async (t) => {
  const fired: number[] = [];
  const q = new FixedDelayQueue<number>(30, (item) => fired.push(item));
  // Many items cancelled at once (answered checks), one live item at the end.
  const slots = Array.from({ length: 1000 }, (_, i) => q.add(i));
  for (const s of slots.slice(0, 999)) q.cancel(s);
  const before = performance.now();
  await sleep(80);
  t.same(fired, [999], 'only the live item fired');
  t.equal(q.length, 0, 'and nothing is left waiting');
  t.ok(performance.now() - before >= 30);
});
