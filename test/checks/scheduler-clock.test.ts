// A wall-clock step (NTP at boot, `date -s`, a resumed VM) must not delay or bunch scheduled checks:
// the scheduler runs on a monotonic clock and uses the wall clock only to stamp what it reports.
// Here in fake time; scheduler-wallstep.test.ts steps the real Date.now under the real clock.
import t from 'tap';
import { ManualClock } from '../../src/checks/sched-clock.js';
import { CheckScheduler, type CheckRunEvent } from '../../src/checks/scheduler.js';
import { FakeBackends, seeded, target, tcpDef } from './scheduler-fakes.js';

const HOUR = 3_600_000;

t.test('fake time: the wall clock steps back and forward an hour; runs keep their 1 s cadence', async (t) => {
  const clock = new ManualClock();
  const backends = new FakeBackends(clock);
  const sched = new CheckScheduler({ createChecker: backends.create, clock, random: seeded(1), onError: () => {}, batchMs: 0, spreadFraction: 0 });
  const events: CheckRunEvent[] = [];
  sched.addListener({ result: (e) => events.push(e) });
  sched.upsert(target(1, { check: tcpDef({ intervalMs: 1000, timeoutMs: 500 }) }));
  sched.start();
  await clock.advance(5_000);
  clock.stepWall(-HOUR);
  await clock.advance(5_000);
  clock.stepWall(+2 * HOUR);
  await clock.advance(5_000);
  const p = sched.stop();
  await clock.advance(2_000);
  await p;

  const starts = backends.calls.map((c) => c.startedAt);
  t.ok(starts.length >= 14 && starts.length <= 15, `about 15 runs in 15 s (${starts.length})`);
  const gaps = starts.slice(1).map((x, i) => x - starts[i]);
  t.same([...new Set(gaps)], [1000], 'every run one interval after the previous, across both steps');
  t.equal(sched.stats().missedSlots, 0, 'no slot counted as missed after the forward step');

  // What leaves the scheduler is stamped with the wall clock, steps included, and the checker's
  // deadline is on the wall clock too (its contract: Date.now()).
  const afterBack = backends.calls.find((c) => c.startedAt > starts[0] + 5_000 && c.startedAt < starts[0] + 9_000)!;
  t.equal(afterBack.deadline, afterBack.startedAt - HOUR + 500, 'deadline = wall time at start + timeout');
  const finished = events.map((e) => e.finishedAt - (e.startedAt + 10));
  t.same([...new Set(finished)], [0], 'finishedAt - startedAt is the run time (10 ms), whatever the steps');
  const walls = events.map((e) => e.finishedAt);
  t.ok(walls.some((w, i) => i > 0 && w < walls[i - 1]), 'the reported times do step back with the wall clock');
  t.ok(events.every((e) => e.latenessMs === 0), 'no lateness from the steps');
});
