// The scheduler's promise-free path to checkers (Checker.run): results arrive as through check(), and
// a checker that breaks the run() contract (throws, reports an error, calls back twice or before
// run() returned, never calls back) cannot end another run, run a probe twice at once or freeze a
// server's health.
import t from 'tap';
import type { CheckDone, Checker, CheckTarget } from '../../src/checks/checker.js';
import { CheckScheduler, type CheckRunEvent } from '../../src/checks/scheduler.js';
import { ManualClock } from '../../src/checks/sched-clock.js';
import type { CheckDef, CheckResult } from '../../src/model/types.js';
import { seeded, target, tcpDef } from './scheduler-fakes.js';

type Mode = 'ok' | 'throw' | 'error' | 'twice' | 'sync' | 'hang';

const ok = (n: number): CheckResult => ({ up: true, code: 'ok', message: `run ${n}`, timings: { totalMs: 10 }, findings: [] });

/** run() only (no usable check()), scripted per target address; counts runs in flight per target. */
class RunChecker implements Checker {
  runs = 0;
  inFlight = new Map<string, number>();
  maxInFlight = 0;
  checkCalls = 0;
  constructor(
    readonly def: CheckDef,
    private readonly clock: ManualClock,
    private readonly mode: (t: CheckTarget) => Mode,
  ) {}

  check(): Promise<CheckResult> {
    this.checkCalls++;
    return Promise.reject(new Error('the scheduler must use run()'));
  }

  run(tg: CheckTarget, _deadline: number, done: CheckDone): void {
    const n = ++this.runs;
    const mode = this.mode(tg);
    if (mode === 'throw') throw new Error('boom');
    if (mode === 'sync') return done(ok(n));
    const k = tg.address;
    const f = (this.inFlight.get(k) ?? 0) + 1;
    this.inFlight.set(k, f);
    this.maxInFlight = Math.max(this.maxInFlight, f);
    if (mode === 'hang') return;
    void this.clock.sleep(10).then(() => {
      this.inFlight.set(k, this.inFlight.get(k)! - 1);
      if (mode === 'error') return done(undefined, new Error('broken'));
      done(ok(n));
      // A buggy checker calling back again later, while the next run of the probe is in flight.
      if (mode === 'twice') void this.clock.sleep(995).then(() => done({ ...ok(n), up: false, code: 'refused', message: 'late second call' }));
    });
  }
}

function setup(mode: (t: CheckTarget) => Mode) {
  const clock = new ManualClock();
  const errors: string[] = [];
  let checker: RunChecker | undefined;
  const sched = new CheckScheduler({
    createChecker: (def) => (checker = new RunChecker(def, clock, mode)),
    clock,
    random: seeded(1),
    batchMs: 0,
    staggerFraction: 0,
    spreadFraction: 0,
    watchdogGraceMs: 500,
    onError: (_e, c) => errors.push(c.where),
  });
  const results: CheckRunEvent[] = [];
  sched.addListener({ result: (e) => results.push(e) });
  return { clock, sched, results, errors, checker: () => checker! };
}

async function halt(clock: ManualClock, sched: CheckScheduler): Promise<void> {
  const p = sched.stop();
  await clock.advance(10_000);
  await p;
}

t.test('results through run() reach listeners and health, one run per interval', async (t) => {
  const { clock, sched, results, checker } = setup(() => 'ok');
  const key = sched.upsert(target(1));
  sched.start();
  await clock.advance(5000);
  t.ok(results.length >= 5 && results.length <= 6, `one result a second (${results.length})`);
  t.same(results.map((r) => r.result.message), results.map((_, i) => `run ${i + 1}`), 'each result is its own run, in order');
  t.equal(sched.health(key)!.up, true);
  t.equal(checker().checkCalls, 0, 'check() was never used');
  t.equal(sched.stats().completed, results.length);
  await halt(clock, sched);
});

t.test('a throw or a reported error is an `error` result and a counted checker error', async (t) => {
  const { clock, sched, results, errors } = setup((tg) => (tg.address === '127.0.0.2' ? 'throw' : 'error'));
  const thrower = sched.upsert(target(1, { initialUp: true }));
  const erring = sched.upsert(target(2, { initialUp: true }));
  sched.start();
  await clock.advance(3000);
  const thrown = results.filter((r) => r.target === thrower);
  const erred = results.filter((r) => r.target === erring);
  t.ok(thrown.length >= 3 && erred.length >= 3);
  t.match(thrown[0].result, { up: false, code: 'error', message: 'checker error: boom' });
  t.match(erred[0].result, { up: false, code: 'error', message: 'checker error: broken' });
  t.equal(sched.health(thrower)!.up, false);
  t.equal(sched.stats().checkerErrors, thrown.length + erred.length);
  t.ok(errors.includes('checker threw instead of returning a result'));
  await halt(clock, sched);
});

t.test('a second callback of a finished run ends nothing: no extra result, no run ended early', async (t) => {
  const { clock, sched, results, checker } = setup(() => 'twice');
  sched.upsert(target(1));
  sched.start();
  await clock.advance(6000);
  t.ok(results.length >= 6, `${results.length} results`);
  t.ok(results.every((r) => r.result.up), 'no late second call was taken as a result');
  t.equal(results.length, checker().runs - (checker().inFlight.get('127.0.0.2') ?? 0), 'one result per run');
  t.equal(checker().maxInFlight, 1, 'never two runs of the probe at once');
  await halt(clock, sched);
});

t.test('a callback before run() returned is taken after it, as one result', async (t) => {
  const { clock, sched, results, checker } = setup(() => 'sync');
  const check = tcpDef();
  sched.upsert(target(1, { check }));
  sched.upsert(target(2, { check }));
  sched.start();
  await clock.advance(3000);
  t.equal(results.length, checker().runs, `every run gave exactly one result (${results.length} results, ${checker().runs} runs)`);
  t.ok(results.length >= 6);
  t.equal(sched.stats().inFlight, 0);
  await halt(clock, sched);
});

t.test('a run that never calls back is reported by the watchdog and blocks its probe until then', async (t) => {
  const { clock, sched, results, checker, errors } = setup(() => 'hang');
  sched.upsert(target(1, { initialUp: true, check: tcpDef({ timeoutMs: 1000 }) }));
  sched.start();
  await clock.advance(5000);
  t.equal(results.length, 1);
  t.match(results[0].result, { up: false, code: 'deadline' });
  t.equal(checker().runs, 1, 'not started again while the run is pending');
  t.ok(errors.includes('checker overstayed its deadline'));
  sched.stop();
});
