// KeyQueue: one run per key at a time, bursts coalesced into at most one more run, a global
// concurrency cap, delayed keys dropped on stop, and onIdle when everything has finished.
import t from 'tap';
import { KeyQueue } from '../../src/store/key-queue.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

t.test('never two runs of one key at once; a burst while running costs one more run', async (t) => {
  const runs: string[] = [];
  let active = 0;
  let maxActive = 0;
  let idle = 0;
  const q = new KeyQueue(async (key) => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs.push(key);
    await tick(20);
    active--;
  }, { concurrency: 1, onIdle: () => { idle++; } });
  q.schedule('a');
  await tick();
  for (let i = 0; i < 10; i++) q.schedule('a');
  while (q.size > 0) await tick();
  t.same(runs, ['a', 'a'], 'ten events during a run: one more run');
  t.equal(maxActive, 1);
  t.equal(idle, 1);
});

t.test('concurrency caps runs across keys; every key runs', async (t) => {
  let active = 0;
  let maxActive = 0;
  const done = new Set<string>();
  const q = new KeyQueue(async (key) => {
    active++;
    maxActive = Math.max(maxActive, active);
    await tick(10);
    done.add(key);
    active--;
  }, { concurrency: 3 });
  for (let i = 0; i < 12; i++) q.schedule(`k${i}`);
  while (q.size > 0) await tick();
  t.equal(maxActive, 3);
  t.equal(done.size, 12);
});

t.test('delayed keys wait, and are dropped by stop()', async (t) => {
  const runs: string[] = [];
  let idle = 0;
  const q = new KeyQueue(async (key) => { runs.push(key); }, { concurrency: 2, onIdle: () => { idle++; } });
  q.schedule('late', 50);
  q.schedule('later', 500);
  await tick(20);
  t.same(runs, [], 'not before its delay');
  await tick(80);
  t.same(runs, ['late']);
  q.stop();
  t.equal(q.size, 0);
  t.equal(idle, 1, 'not idle while "later" waits; idle once stop() dropped it');
  q.schedule('after-stop');
  await tick(600);
  t.same(runs, ['late'], 'nothing runs after stop');
});
