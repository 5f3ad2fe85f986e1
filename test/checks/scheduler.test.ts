import t from 'tap';
import { CheckScheduler, type CheckRunEvent, type SchedulerOptions, type TargetHealthEvent } from '../../src/checks/scheduler.js';
import { ManualClock } from '../../src/checks/sched-clock.js';
import { UsageError } from '../../src/model/errors.js';
import type { CheckDef } from '../../src/model/types.js';
import { FakeBackends, httpDef, seeded, svc, target, tcpDef } from './scheduler-fakes.js';

/** stop() waits for in-flight runs, which only finish when fake time moves. */
async function halt(clock: ManualClock, sched: CheckScheduler): Promise<void> {
  const p = sched.stop();
  await clock.advance(10_000);
  await p;
}

function setup(opts: Partial<SchedulerOptions> = {}) {
  const clock = new ManualClock();
  const backends = new FakeBackends(clock);
  // batchMs 0: these tests pin exact start times; batching has its own test.
  const sched = new CheckScheduler({ createChecker: backends.create, clock, random: seeded(42), onError: () => {}, batchMs: 0, ...opts });
  const results: CheckRunEvent[] = [];
  const health: TargetHealthEvent[] = [];
  sched.addListener({ result: (e) => results.push(e), health: (e) => health.push(e) });
  const t0 = clock.now();
  return { clock, backends, sched, results, health, t0 };
}

t.test('first runs are staggered across the interval, deterministically for a given random source', async (t) => {
  const starts = async (seed: number) => {
    const { clock, backends, sched, t0 } = setup({ random: seeded(seed), spreadFraction: 0 });
    for (let i = 0; i < 200; i++) sched.upsert(target(i));
    sched.start();
    await clock.advance(999);
    const starts = backends.calls.map((c) => c.startedAt - t0);
    await halt(clock, sched);
    return starts;
  };
  const a = await starts(7);
  t.equal(a.length, 200, 'every target ran once within the first interval');
  // Spread: each tenth of the interval holds some first runs (200 uniform draws; none empty).
  const tenths = new Set(a.map((x) => Math.floor(x / 100)));
  t.equal(tenths.size, 10, `first runs fall in all 10 tenths of the interval (${[...tenths].sort()})`);
  t.same(await starts(7), a, 'same seed, same schedule');
  t.not(JSON.stringify(await starts(8)), JSON.stringify(a), 'another seed, another schedule');
});

t.test('runs repeat every interval plus a small bounded spread, with no drift', async (t) => {
  const { clock, backends, sched, t0 } = setup({ spreadFraction: 0.05 });
  sched.upsert(target(1, { check: tcpDef({ intervalMs: 2000 }) }));
  sched.start();
  await clock.advance(60_000);
  await halt(clock, sched);
  const s = backends.calls.map((c) => c.startedAt - t0);
  t.ok(s.length >= 29 && s.length <= 30, `about 30 runs in 60 s at 2 s (${s.length})`);
  // Run k is at slot + spread_k with slot = first slot + k*2000 and spread in [0, 100): no drift.
  const offsets = s.map((x, k) => x - s[0] - k * 2000);
  t.ok(offsets.every((o) => o > -100 && o < 100), `runs stay within the spread of their slots: ${offsets}`);
  const gaps = s.slice(1).map((x, i) => x - s[i]);
  t.ok(new Set(gaps).size > 1, 'the per-round spread varies the gaps');
  t.ok(Math.max(...gaps) < 2100 + 100 && Math.min(...gaps) > 1900 - 100, `gaps stay near 2 s: ${Math.min(...gaps)}..${Math.max(...gaps)}`);
  t.equal(sched.stats().missedSlots, 0);
});

t.test('rise and fall with a fake clock: transitions exactly at the rise-th / fall-th result', async (t) => {
  const { clock, backends, sched, health, t0 } = setup({ staggerFraction: 0, spreadFraction: 0 });
  let backendUp = true;
  backends.verdict = () => ({ up: backendUp, latencyMs: 5 });
  const key = sched.upsert(target(1, { check: tcpDef({ rise: 2, fall: 3, intervalMs: 1000 }), initialUp: false }));
  sched.start();
  await clock.advance(1500); // results at t0+5, t0+1005
  t.same(
    health.map((e) => [e.type, e.at - t0]),
    [['came_up', 1005]],
    'came up with the 2nd success',
  );
  t.ok(sched.health(key)!.up);
  backendUp = false;
  await clock.advance(3000); // failures at 2005, 3005, 4005
  t.same(
    health.map((e) => [e.type, e.at - t0, e.code]),
    [
      ['came_up', 1005, 'ok'],
      ['first_failure', 2005, 'refused'],
      ['went_down', 4005, 'refused'],
    ],
  );
  t.match(health[2], { target: 'eqiad/cxserver/sca1001.eqiad.wmnet/tcp', host: 'sca1001.eqiad.wmnet', check: 'tcp' });
  t.match(health[2].message, /connection refused \(3 consecutive failures, fall 3\)/);
  t.notOk(sched.health(key)!.up);
  await halt(clock, sched);
});

t.test('a restart from the last published state does not flap', async (t) => {
  const { clock, sched, health } = setup();
  sched.upsert(target(1, { check: tcpDef({ rise: 3, fall: 3 }), initialUp: true }));
  sched.start();
  await clock.advance(10_000);
  await halt(clock, sched);
  t.same(health, [], 'an up server that stays up emits nothing, not went_down/came_up');
});

t.test('flapping through the scheduler: transitions in the window raise flapping_started with a reason', async (t) => {
  const { clock, backends, sched, health, t0 } = setup({ staggerFraction: 0, spreadFraction: 0 });
  // Backend alternates 3 s up / 3 s down; rise=fall=2 at 1 s → a transition every 3 s.
  backends.verdict = (_t, now) => ({ up: Math.floor((now - t0) / 3000) % 2 === 0 });
  sched.upsert(target(1, { check: tcpDef({ rise: 2, fall: 2 }), flapping: { transitions: 5, windowMs: 60_000 }, initialUp: true }));
  sched.start();
  await clock.advance(30_000);
  const started = health.filter((e) => e.type === 'flapping_started');
  t.equal(started.length, 1, 'one flapping_started, not one per transition');
  t.equal(started[0].message, 'flapping: 5 transitions in 1m');
  t.equal(started[0].code, 'flapping');
  const transitions = health.filter((e) => e.type === 'went_down' || e.type === 'came_up');
  t.equal(started[0].at, transitions[4].at, 'started at the 5th transition');
  // Backend becomes stable: flapping stops once the window holds fewer than 5 transitions.
  backends.verdict = () => ({ up: true });
  await clock.advance(90_000);
  const stopped = health.filter((e) => e.type === 'flapping_stopped');
  const all = health.filter((e) => e.type === 'went_down' || e.type === 'came_up');
  t.equal(stopped.length, 1);
  const fifthNewest = all[all.length - 5].at;
  t.ok(stopped[0].at - fifthNewest >= 60_000, 'stopped only after the 5th-newest transition left the window');
  t.ok(stopped[0].at - fifthNewest <= 61_000, 'and within one interval of that');
  await halt(clock, sched);
});

t.test('a check slower than its interval never runs twice at once; skipped slots are counted', async (t) => {
  const { clock, backends, sched, t0 } = setup({ staggerFraction: 0, spreadFraction: 0 });
  backends.verdict = () => ({ up: true, latencyMs: 2500 });
  sched.upsert(target(1, { check: tcpDef({ intervalMs: 1000, timeoutMs: 3000 }) }));
  sched.start();
  await clock.advance(30_000);
  await halt(clock, sched);
  t.equal(backends.maxPerTarget, 1, 'never two runs of the same probe in flight');
  const s = backends.calls.map((c) => c.startedAt - t0);
  t.same(s.slice(0, 4), [0, 3000, 6000, 9000], 'each run starts at the first slot after the previous finished');
  for (let i = 1; i < backends.calls.length; i++) {
    t.ok(backends.calls[i].startedAt >= backends.calls[i - 1].finishedAt!, `run ${i} started after run ${i - 1} finished`);
  }
  t.equal(sched.stats().missedSlots, 2 * (backends.calls.length - 1), 'two slots missed per overrun');
  t.ok(backends.calls.every((c) => c.deadline === c.startedAt + 3000), 'each run\'s deadline is its start + timeoutMs');
});

t.test('global concurrency is bounded and the queue of due checks is bounded', async (t) => {
  const { clock, backends, sched } = setup({ concurrency: 5, maxQueue: 10 });
  backends.verdict = () => ({ up: true, latencyMs: 300 });
  let maxQueue = 0;
  sched.addListener({ result: () => (maxQueue = Math.max(maxQueue, sched.stats().queueDepth)) });
  // 50 checks × 300 ms at 1 s need 15 concurrent slots; with 5 the scheduler is saturated.
  for (let i = 0; i < 50; i++) sched.upsert(target(i));
  sched.start();
  await clock.advance(20_000);
  const st = sched.stats();
  await halt(clock, sched);
  t.equal(backends.maxInFlight, 5, 'in-flight reached the bound and never exceeded it');
  t.equal(backends.maxPerTarget, 1, 'no probe ran twice at once');
  t.ok(st.maxQueueDepth <= 10 && st.maxQueueDepth >= 5, `queue depth stayed within its bound (max ${st.maxQueueDepth})`);
  t.ok(maxQueue <= 10);
  t.ok(st.queueFullDrops > 0, `slots dropped when the queue was full (${st.queueFullDrops})`);
  // Throughput is what 5 slots allow: ~5/0.3 s = 16.7 runs/s over 20 s.
  t.ok(backends.calls.length >= 300 && backends.calls.length <= 340, `ran at the bound's rate (${backends.calls.length} runs)`);
  // Nobody starves: every target ran repeatedly.
  const perTarget = new Map<string, number>();
  for (const c of backends.calls) perTarget.set(c.target.address, (perTarget.get(c.target.address) ?? 0) + 1);
  t.equal(perTarget.size, 50);
  t.ok(Math.min(...perTarget.values()) >= 3, `least-run target ran ${Math.min(...perTarget.values())} times`);
  t.ok(st.lateness.p99 > 0, 'queueing shows up as lateness');
});

t.test('lateness = actual start - due time, with p50/p99', async (t) => {
  const { clock, backends, sched } = setup({ concurrency: 1, staggerFraction: 0, spreadFraction: 0 });
  backends.verdict = () => ({ up: true, latencyMs: 100 });
  for (let i = 0; i < 5; i++) sched.upsert(target(i, { check: tcpDef({ intervalMs: 10_000 }) }));
  sched.start();
  await clock.advance(1000);
  const st = sched.stats();
  t.same(
    backends.calls.map((c) => c.startedAt - backends.calls[0].startedAt),
    [0, 100, 200, 300, 400],
  );
  t.same(st.lateness, { count: 5, p50: 200, p99: 400, max: 400 });
  t.equal(st.started, 5);
  t.equal(st.completed, 5);
  sched.resetStats();
  t.same(sched.stats().lateness, { count: 0, p50: 0, p99: 0, max: 0 });
  await halt(clock, sched);
});

t.test('batchMs starts due checks together on ticks, adding at most one tick of lateness', async (t) => {
  const { clock, backends, sched, t0 } = setup({ batchMs: 100 });
  for (let i = 0; i < 50; i++) sched.upsert(target(i));
  sched.start();
  await clock.advance(5000);
  const starts = backends.calls.map((c) => c.startedAt);
  t.ok(starts.length >= 200);
  t.ok(starts.every((s) => s % 100 === 0), 'every start on a 100 ms tick');
  t.ok(new Set(starts.map((s) => s - t0)).size <= 51, 'at most one start time per tick');
  const st = sched.stats();
  t.ok(st.lateness.max < 100 && st.lateness.p50 > 0, `lateness within one tick (p50 ${st.lateness.p50}, max ${st.lateness.max})`);
  await halt(clock, sched);
});

t.test('identical checks across pools run once and fan out to every subscriber', async (t) => {
  const { clock, backends, sched, results, health } = setup();
  const same = { host: 'sca1001.eqiad.wmnet', address: '127.0.0.11', port: 8080 };
  // Same probe; names, rise and key order differ (they do not change what is sent).
  const a = sched.upsert({ ...same, service: svc('cxserver'), check: httpDef({ name: 'info', rise: 1 }), flapping: { transitions: 0, windowMs: 0 } });
  const reordered = Object.fromEntries(Object.entries(httpDef({ name: 'lvs', rise: 3 })).reverse()) as ReturnType<typeof httpDef>;
  const b = sched.upsert({ ...same, service: svc('citoid'), check: reordered, flapping: { transitions: 0, windowMs: 0 } });
  // Controls: another path, another address → separate probes.
  sched.upsert({ ...same, service: svc('apertium'), check: httpDef({ urls: ['/healthz'] }), flapping: { transitions: 0, windowMs: 0 } });
  sched.upsert({ ...same, address: '127.0.0.12', service: svc('zotero'), check: httpDef(), flapping: { transitions: 0, windowMs: 0 } });
  t.equal(sched.stats().groups, 3, 'three distinct probes for four targets');
  sched.start();
  await clock.advance(5000);
  await halt(clock, sched);
  const shared = backends.calls.filter((c) => c.target.address === '127.0.0.11' && c.target.port === 8080);
  t.equal(backends.checkers.length, 3, 'one checker per distinct probe');
  const resA = results.filter((r) => r.target === a);
  const resB = results.filter((r) => r.target === b);
  t.equal(resA.length, 5, 'cxserver got a result every round');
  t.equal(resB.length, 5, 'citoid got the same results');
  t.same(resA.map((r) => r.startedAt), resB.map((r) => r.startedAt), 'from the same runs');
  t.equal(shared.length, 5 + 5, '/_info once per round on .11 plus /healthz once per round');
  t.equal(resA[0].sharedBy, 2);
  // Each subscriber applies its own rise: cxserver (rise 1) up after 1 result, citoid (rise 3) after 3.
  const upAt = (k: string) => health.find((e) => e.target === k && e.type === 'came_up')?.at;
  t.equal(upAt(a), resA[0].finishedAt);
  t.equal(upAt(b), resB[2].finishedAt);
});

t.test('live reconfigure: add, change and remove targets without disturbing the others', async (t) => {
  const { clock, backends, sched, results, t0 } = setup();
  const keep = sched.upsert(target(1, { check: tcpDef({ name: 'tcp' }) }));
  const moved = sched.upsert(target(2, { check: httpDef({ urls: ['/'] }), initialUp: true }));
  const gone = sched.upsert(target(3));
  sched.start();
  await clock.advance(3000);
  const keepStarts = () => backends.callsTo('127.0.0.2').map((c) => c.startedAt - t0);
  const before = keepStarts();
  const checkersBefore = backends.checkers.length;

  // 1) rise/fall change only: same probe, same checker, same slots.
  sched.upsert(target(1, { check: tcpDef({ name: 'tcp', rise: 5, fall: 5 }) }));
  // 2) a new path for target 2 (the cxserver fix): new probe, old checker closed, health kept.
  sched.upsert(target(2, { check: httpDef({ urls: ['/_info'] }) }));
  // 3) target 3 removed; 4) target 4 added.
  t.ok(sched.remove(gone));
  t.notOk(sched.remove(gone), 'removing twice reports unknown');
  const added = sched.upsert(target(4));
  await clock.advance(3000);
  await halt(clock, sched);

  t.equal(backends.checkers.length, checkersBefore + 2, 'only the changed and the added target got new checkers');
  const after = keepStarts();
  t.same(after.slice(0, before.length), before);
  const gaps = after.slice(1).map((x, i) => x - after[i]);
  t.ok(gaps.every((g) => g >= 950 && g <= 1050), `the untouched target kept its 1 s rhythm: ${gaps}`);
  t.equal(sched.health(keep)!.up, true);
  const lastGone = Math.max(...backends.callsTo('127.0.0.4').map((c) => c.startedAt));
  t.ok(lastGone < t0 + 3000 + 10, 'the removed target ran no more');
  t.equal(sched.health(gone), undefined);
  t.ok(backends.closed.some((c) => c.def.kind === 'tcp'), 'the removed probe was closed');
  t.ok(backends.closed.some((c) => c.def.kind === 'http' && (c.def as ReturnType<typeof httpDef>).urls[0] === '/'), 'the old path probe was closed');
  const movedPaths = backends.callsTo('127.0.0.3').length;
  t.ok(movedPaths >= 5, 'target 2 kept being checked across the change');
  t.equal(sched.health(moved)!.up, true, 'target 2 kept its up state across the probe change');
  t.ok(results.some((r) => r.target === added), 'the added target is checked');
  t.same(sched.targetKeys().sort(), [keep, moved, added].sort());
});

t.test('setTargets makes the set exact and validates input with clear errors', async (t) => {
  const { sched } = setup();
  sched.setTargets([target(1), target(2), target(3)]);
  const r = sched.setTargets([target(2), target(5)]);
  t.same(r, { upserted: 2, removed: 2, rejected: [] });
  t.equal(sched.stats().targets, 2);
  // One bad target does not block the rest; an existing one keeps its previous definition.
  const bad = sched.setTargets([target(2, { check: tcpDef({ rise: 0 }) }), target(5), target(6), target(7, { address: '' })]);
  t.equal(bad.upserted, 2);
  t.same(bad.rejected.map((x) => x.target), ['eqiad/cxserver/sca1002.eqiad.wmnet/tcp', 'eqiad/cxserver/sca1007.eqiad.wmnet/tcp']);
  t.match(String(bad.rejected[0].error), /rise must be an integer >= 1/);
  t.match(JSON.parse(JSON.stringify(bad.rejected))[1].message, /no address to check/, 'the reason survives JSON logging');
  t.same(sched.targetKeys().sort(), ['sca1002', 'sca1005', 'sca1006'].map((h) => `eqiad/cxserver/${h}.eqiad.wmnet/tcp`));
  t.equal(sched.health('eqiad/cxserver/sca1002.eqiad.wmnet/tcp') !== undefined, true, 'sca1002 still checked with its old definition');
  t.throws(() => sched.upsert(target(1, { check: tcpDef({ intervalMs: 0 }) })), {
    name: 'UsageError',
    message: /eqiad\/cxserver\/sca1001.eqiad.wmnet\/tcp: check interval must be > 0 ms, got 0/,
  });
  t.throws(() => sched.upsert(target(1, { check: tcpDef({ fall: 0 }) })), { message: /fall must be an integer >= 1/ });
  t.throws(() => sched.upsert(target(1, { address: '' })), UsageError);
  t.throws(() => new CheckScheduler({ createChecker: () => null!, concurrency: 0 }), { message: /concurrency must be an integer >= 1/ });
  t.equal(sched.stats().targets, 3, 'rejected targets were not added');
});

t.test('checker bugs become down results: a throw is an `error` result; a hang is reported at deadline+grace', async (t) => {
  const errors: string[] = [];
  const { clock, backends, sched, results } = setup({ staggerFraction: 0, spreadFraction: 0, watchdogGraceMs: 500, onError: (e, c) => errors.push(c.where) });
  backends.verdict = (tg) => (tg.address === '127.0.0.2' ? { up: true, throws: 'boom' } : { up: true, hang: true });
  const thrower = sched.upsert(target(1, { initialUp: true }));
  const hanger = sched.upsert(target(2, { initialUp: true, check: tcpDef({ timeoutMs: 1000 }) }));
  sched.start();
  await clock.advance(5000);
  const thrown = results.filter((r) => r.target === thrower);
  t.ok(thrown.length >= 4);
  t.match(thrown[0].result, { up: false, code: 'error', message: 'checker error: boom' });
  t.notOk(sched.health(thrower)!.up);
  const hung = results.filter((r) => r.target === hanger);
  t.equal(hung.length, 1, 'the hung run is reported once');
  t.match(hung[0].result, { up: false, code: 'deadline' });
  t.ok(hung[0].finishedAt - hung[0].startedAt >= 1500, 'not before deadline + grace');
  t.equal(backends.callsTo('127.0.0.3').length, 1, 'and never started again while the promise is pending');
  const st = sched.stats();
  t.equal(st.overdue, 1);
  t.ok(st.checkerErrors >= 4);
  t.ok(errors.includes('checker overstayed its deadline') && errors.includes('checker threw instead of returning a result'));
  await halt(clock, sched);
});

t.test('the watchdog needs two sweeps: a run that settles just past deadline+grace (an event-loop stall) is not faked as failed', async (t) => {
  const { clock, backends, sched, results } = setup({ staggerFraction: 0, spreadFraction: 0, watchdogGraceMs: 500 });
  // timeout 1000, grace 500, sweeps every 250 ms: the first sweep past 1500 ms only marks the run; the
  // checker settles at 1600 ms, before the next sweep could report it.
  backends.verdict = () => ({ up: true, latencyMs: 1600 });
  const key = sched.upsert(target(1, { initialUp: true, check: tcpDef({ timeoutMs: 1000, intervalMs: 5000 }) }));
  sched.start();
  await clock.advance(4000);
  await halt(clock, sched);
  t.equal(sched.stats().overdue, 0);
  const mine = results.filter((r) => r.target === key);
  t.ok(mine.length >= 1);
  t.ok(mine.every((r) => r.result.up), 'the checker\'s own result was delivered, not a watchdog failure');
});

t.test('a throwing listener does not break scheduling or other listeners', async (t) => {
  const errors: string[] = [];
  const { clock, sched, results } = setup({ onError: (_e, c) => errors.push(c.where) });
  sched.addListener({
    result: () => {
      throw new Error('listener bug');
    },
  });
  sched.upsert(target(1));
  sched.start();
  await clock.advance(3500);
  await halt(clock, sched);
  t.ok(results.length >= 3, 'the other listener kept receiving results');
  t.ok(errors.length >= 3 && errors.every((w) => w === 'result listener'));
});

t.test('stop waits for in-flight runs, closes checkers and leaves no timers', async (t) => {
  const { clock, backends, sched, results } = setup({ staggerFraction: 0, spreadFraction: 0 });
  backends.verdict = () => ({ up: true, latencyMs: 400 });
  sched.upsert(target(1));
  sched.upsert(target(2));
  sched.start();
  await clock.advance(100);
  let stopped = false;
  const p = sched.stop().then(() => (stopped = true));
  await clock.advance(100);
  t.notOk(stopped, 'still waiting for runs in flight');
  await clock.advance(400);
  await p;
  t.equal(results.length, 2, 'their results were delivered');
  t.equal(backends.closed.length, 2);
  t.equal(clock.pending, 0, 'no timers left armed');
  await clock.advance(5000);
  t.equal(backends.calls.length, 2, 'nothing runs after stop');
});

t.test('one checker serves every host of a service; it is closed when its last host goes', async (t) => {
  const { clock, backends, sched, results } = setup({ staggerFraction: 0, spreadFraction: 0 });
  const http = httpDef();
  const keepAlive = httpDef({ name: 'ka', keepAlive: true });
  const idle: CheckDef = { kind: 'idle-connection', name: 'idle', timeoutMs: 500, intervalMs: 1000, rise: 1, fall: 1, reconnectTimeoutMs: 300 };
  const keys = [1, 2, 3].map((n) => sched.upsert(target(n, { check: http })));
  for (const n of [1, 2, 3]) sched.upsert(target(n, { check: keepAlive }));
  for (const n of [1, 2, 3]) sched.upsert(target(n, { check: idle }));
  sched.start();
  await clock.advance(1100);
  t.equal(results.filter((r) => r.check === http.name).length >= 3, true, 'every host was checked');
  t.equal(backends.checkers.filter((c) => c.def === http).length, 1, 'one checker for the three hosts');
  // Checkers holding per-host connections stay per host, so removing a host releases its connections.
  t.equal(backends.checkers.filter((c) => c.def === keepAlive).length, 3, 'keep-alive http: one per host');
  t.equal(backends.checkers.filter((c) => c.def === idle).length, 3, 'idle-connection: one per host');
  sched.remove(keys[0]);
  sched.remove(keys[1]);
  await clock.advance(100);
  t.equal(backends.closed.filter((c) => c.def === http).length, 0, 'still in use by the third host');
  t.equal(results.filter((r) => r.check === http.name && r.host === target(3).host).length >= 1, true);
  sched.remove(keys[2]);
  await clock.advance(100);
  t.equal(backends.closed.filter((c) => c.def === http).length, 1, 'closed once, with its last host');
  await halt(clock, sched);
  t.equal(backends.closed.filter((c) => c.def === http).length, 1, 'stop does not close it again');
  t.equal(backends.closed.length, 7, 'stop closed the six per-host checkers');
});
