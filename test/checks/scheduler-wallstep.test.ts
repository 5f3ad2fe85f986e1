// A wall-clock step must not delay or bunch scheduled checks, with the scheduler's default (real)
// clock: Date.now is stepped an hour back, then two hours forward, while checks run every 100 ms.
// Date.now is replaced before any of poold's modules is loaded (they are imported dynamically
// below), so even a clock that captured Date.now at load time would see the steps.
import t from 'tap';
import { performance } from 'node:perf_hooks';
import type { CheckResult } from '../../src/model/types.js';

const HOUR = 3_600_000;
const realNow = Date.now;
let offset = 0;
Date.now = () => realNow() + offset;
t.teardown(() => {
  Date.now = realNow;
});

t.test('real time: Date.now jumps an hour back, then two forward; checks keep their cadence', async (t) => {
  const { CheckScheduler } = await import('../../src/checks/scheduler.js');
  const { target, tcpDef } = await import('./scheduler-fakes.js');
  const INTERVAL = 100;
  const startsMono: number[] = [];
  const sched = new CheckScheduler({
    createChecker: (def) => ({
      def,
      async check(): Promise<CheckResult> {
        startsMono.push(performance.now());
        return { up: true, code: 'ok', message: 'ok', timings: { totalMs: 0 }, findings: [] };
      },
    }),
    onError: (err) => t.fail(String(err)),
  });
  sched.upsert(target(1, { check: tcpDef({ intervalMs: INTERVAL, timeoutMs: 50 }) }));
  sched.start();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(600);
  offset = -HOUR;
  await sleep(600);
  offset = +HOUR;
  await sleep(600);
  await sched.stop();

  // 1.8 s at 100 ms is ~18 runs; a scheduler on the wall clock would stop at the step back (its
  // next slot an hour away) and have about 6. The margins allow a loaded machine.
  t.ok(startsMono.length >= 12, `${startsMono.length} runs in 1.8 s at ${INTERVAL} ms`);
  const t0 = startsMono[0];
  const inWindow = (from: number, to: number) => startsMono.filter((x) => x - t0 >= from && x - t0 < to).length;
  t.ok(inWindow(700, 1200) >= 2, `runs after the step back: ${inWindow(700, 1200)}`);
  t.ok(inWindow(1300, Infinity) >= 2, `runs after the step forward: ${inWindow(1300, Infinity)}`);
  const gaps = startsMono.slice(1).map((x, i) => x - startsMono[i]);
  t.ok(Math.max(...gaps) < 10 * INTERVAL, `no gap over ${10 * INTERVAL} ms (max ${Math.max(...gaps).toFixed(0)} ms)`);
  // Slots are fixed-rate, one run per slot at most: no catch-up burst after the forward step.
  t.ok(startsMono.length <= 21, `no extra runs (${startsMono.length} for 18 slots)`);
});
