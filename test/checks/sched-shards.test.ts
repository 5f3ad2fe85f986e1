// The scheduler sharded over worker threads, with the real http checker against real simulated
// backends: every target is checked in some shard, results and health reach the main thread's
// listeners, rejections are synchronous, identical probes still run once, a dead shard comes back
// with its targets, and POOLD_CHECK_WORKERS picks the runner.
import t from 'tap';
import type { Worker } from 'node:worker_threads';
import { CheckScheduler, type CheckRunEvent, type ScheduledTarget, type TargetHealthEvent } from '../../src/checks/scheduler.js';
import { checkWorkersFromEnv, createCheckRunner, ShardedCheckScheduler } from '../../src/checks/sched-shards.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { httpDef, svc } from './scheduler-fakes.js';
import { loopbackAddress } from './check-defs.js';

// Generous: under the test runner each worker compiles the TypeScript sources itself first, which
// takes seconds on a loaded machine (the built daemon loads plain JS).
async function waitFor(what: string, pred: () => boolean, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const N = 12;
let sim: Simulator;
const backends: { address: string; port: number }[] = [];
t.before(async () => {
  const base = loopbackAddress().split('.').slice(0, 3).join('.');
  sim = await startSimulator({ backends: Array.from({ length: N }, (_, i) => ({ address: `${base}.${i + 1}`, port: 0, behaviour: 'ok' as const, service: 'cxserver' })) });
  backends.push(...sim.list().map((b) => ({ address: b.address, port: b.port })));
});
t.teardown(() => sim?.stop());

// fall 3: on a loaded machine one slow check must not take a target down.
const check = httpDef({ intervalMs: 200, timeoutMs: 1000, rise: 1, fall: 3 });
const flapping = { transitions: 0, windowMs: 0 };
function targets(): ScheduledTarget[] {
  return backends.map((b, i) => ({ service: svc('cxserver'), host: `sca${1000 + i}.eqiad.wmnet`, address: b.address, port: b.port, check, flapping, initialUp: false }));
}

// One sharded scheduler for the tests that run checks (starting workers is the slow part).
const errors: string[] = [];
const results: CheckRunEvent[] = [];
const health: TargetHealthEvent[] = [];
let sched: ShardedCheckScheduler;

t.test('two shards check every target and report results and health to the main thread', async (t) => {
  sched = new ShardedCheckScheduler({ workers: 2, restartDelayMs: 100, onError: (err, ctx) => errors.push(`${ctx.where}: ${String(err)}`) });
  // Both kinds in one sequence too: a health event must come right after the result that caused it.
  const sequence: ({ kind: 'result'; e: CheckRunEvent } | { kind: 'health'; e: TargetHealthEvent })[] = [];
  sched.addListener({
    result: (e) => (results.push(e), sequence.push({ kind: 'result', e })),
    health: (e) => (health.push(e), sequence.push({ kind: 'health', e })),
  });
  const ts = targets();
  // A second pool checking the first backend the same way: one probe for both, in one shard.
  ts.push({ ...ts[0], service: svc('citoid'), check: { ...check, name: 'lvs' } });
  const r = sched.setTargets(ts);
  t.same(r, { upserted: N + 1, removed: 0, rejected: [] });
  sched.start();

  const keys = new Set(ts.map((x) => `${x.service.dc}/${x.service.name}/${x.host}/${x.check.name}`));
  await waitFor('every target came up', () => new Set(health.filter((e) => e.type === 'came_up').map((e) => e.target)).size === keys.size);
  t.same(new Set(health.filter((e) => e.type === 'came_up').map((e) => e.target)), keys, 'each target came up');
  t.ok(results.every((e) => e.result.up && e.result.code === 'ok'), 'real http results, all ok');
  for (const [i, x] of sequence.entries()) {
    if (x.kind !== 'health') continue;
    // Walk back over other health events of the same result (none here: rise 1, no flapping).
    let j = i - 1;
    while (j >= 0 && sequence[j].kind === 'health') j--;
    const cause = sequence[j];
    t.ok(cause?.kind === 'result' && cause.e.target === x.e.target && cause.e.finishedAt === x.e.at, `${x.e.type} of ${x.e.target} follows its result`);
  }
  const shared = results.filter((e) => e.host === ts[0].host);
  t.ok(shared.length >= 2 && shared.every((e) => e.sharedBy === 2), 'the identical probe ran once for both pools (sharedBy 2)');

  const stats = await sched.stats();
  t.equal(stats.targets, N + 1);
  t.equal(stats.groups, N, 'one group per distinct probe, across the shards');
  t.ok(stats.completed >= N && stats.lateness.count === stats.started, `merged counters (${stats.completed} completed) and lateness (${stats.lateness.count} samples)`);
  // Both shards got work: the hash spreads 12 addresses over 2 shards (both empty is impossible
  // here; one empty would mean the partition is broken).
  const perShard = (sched as unknown as { shards: { targets: unknown[] }[] }).shards.map((s) => s.targets.length);
  t.ok(perShard.every((n) => n > 0) && perShard.reduce((a, b) => a + b) === N + 1, `targets per shard: ${perShard}`);

  // A backend going away is seen through the shard: the target goes down with its reason.
  const gone = backends[3];
  await sim.setBehaviour(gone.address, gone.port, 'refused');
  const isGone = (e: CheckRunEvent) => e.host === 'sca1003.eqiad.wmnet' && e.check === check.name;
  // A check in flight at the switch may see its connection reset; the next ones are refused.
  await waitFor('the refused backend is down, refused', () => results.some((e) => isGone(e) && e.result.code === 'refused' && !e.health.up));
  t.ok(health.some((e) => e.type === 'went_down' && e.target.endsWith(`sca1003.eqiad.wmnet/${check.name}`)), 'it went down');
  await sim.setBehaviour(gone.address, gone.port, 'ok');
  await waitFor('it came back', () => health.filter((e) => e.type === 'came_up' && e.target.endsWith(`sca1003.eqiad.wmnet/${check.name}`)).length === 2);
  t.same(errors, []);
});

t.test('results name their targets as the lists change: every result is about the definition its shard had', async (t) => {
  // Results cross naming their target by index in the list the shard was given (shard-codec.ts);
  // a new list reorders them (one target removed, one moved to another backend).
  const before = targets();
  const moved = before[5];
  const after = before.filter((_, i) => i !== 2).map((x) => (x === moved ? { ...x, address: backends[7].address, port: backends[7].port } : x));
  const keyOf = (x: ScheduledTarget) => `${x.service.dc}/${x.service.name}/${x.host}/${x.check.name}`;
  const defs = new Map<string, Set<string>>();
  // The first test's list had a second pool on the first backend too: its last results may still cross.
  const firstList = [...before, { ...before[0], service: svc('citoid'), check: { ...check, name: 'lvs' } }];
  for (const x of [...firstList, ...after]) {
    const k = keyOf(x);
    defs.set(k, (defs.get(k) ?? new Set()).add(`${x.service.dc}|${x.service.name}|${x.host}|${x.check.name}|${x.check.kind}|${x.address}|${x.port}`));
  }
  const mark = results.length;
  // Back and forth a few times, so that batches taken under one list cross while the next is sent.
  for (let i = 0; i < 4; i++) {
    sched.setTargets(after);
    await new Promise((r) => setTimeout(r, 120));
    sched.setTargets(before);
    await new Promise((r) => setTimeout(r, 120));
  }
  t.same(sched.setTargets(after), { upserted: N - 1, removed: 1, rejected: [] }, 'one host removed');
  const movedKey = keyOf(moved);
  // A round trip through every shard: each has taken the last list, and every batch it sent under an
  // earlier one (flushed when the list arrived) is in; what comes after is about the last list alone.
  await sched.stats();
  const settled = results.length;
  await waitFor('results of the moved target at its new address', () => results.slice(settled).some((e) => e.target === movedKey && e.address === backends[7].address));
  const later = settled;
  await waitFor('a result from every target of the new list', () => {
    const seen = new Set(results.slice(later).map((e) => e.target));
    return after.every((x) => seen.has(keyOf(x)));
  });
  let checked = 0;
  for (const e of results.slice(mark)) {
    const known = defs.get(e.target);
    if (!known?.has(`${e.service.dc}|${e.service.name}|${e.host}|${e.check}|${e.kind}|${e.address}|${e.port}`)) t.fail(`result of ${e.target} at ${e.address}:${e.port} matches no definition it had`);
    // The checker names the address it probed: a result decoded as another target's would show it.
    if (e.result.detail?.target !== `${e.address}:${e.port}`) t.fail(`result of ${e.target} says ${e.address}:${e.port} but probed ${String(e.result.detail?.target)}`);
    checked++;
  }
  t.ok(checked > 50, `${checked} results checked against their definitions`);
  const fresh = results.slice(later);
  t.ok(fresh.filter((e) => e.target === movedKey).every((e) => e.address === backends[7].address && e.port === backends[7].port), 'the moved target is checked at its new address only');
  t.notOk(fresh.some((e) => e.target === keyOf(before[2])), 'the removed target reports no more');
  t.ok(fresh.every((e) => e.service === after.find((x) => keyOf(x) === e.target)!.service), "each result carries its target's own service object, as in-thread");
  t.same(errors, []);
});

t.test('a shard that dies is restarted with its targets, from their last health, and said so', async (t) => {
  const shards = (sched as unknown as { shards: { worker: Worker; targets: ScheduledTarget[] }[] }).shards;
  const victim = shards[0];
  const victimHosts = new Set(victim.targets.map((x) => x.host));
  const downsBefore = health.filter((e) => e.type === 'went_down').length;
  await victim.worker.terminate();
  await waitFor('the shard was reported dead', () => errors.some((e) => /check shard 0 exited/.test(e)));
  const mark = results.length;
  await waitFor('results again from every target of the dead shard', () => {
    const seen = new Set(results.slice(mark).map((e) => e.host));
    return [...victimHosts].every((h) => seen.has(h));
  });
  t.ok(results.slice(mark).filter((e) => victimHosts.has(e.host)).every((e) => e.health.up), 'they start from up, their last health');
  t.equal(health.filter((e) => e.type === 'went_down').length, downsBefore, 'no target went down because of the restart');
  t.match(errors.join('\n'), /restarting it with its \d+ targets/);
});

t.test('stop() ends every shard: nothing is reported afterwards', async (t) => {
  await sched.stop();
  const after = results.length;
  await new Promise((r) => setTimeout(r, 500));
  t.equal(results.length, after);
});

t.test('rejections are synchronous and name the target, as with the in-thread scheduler', async (t) => {
  const sched = new ShardedCheckScheduler({ workers: 2, onError: () => {} });
  t.teardown(() => sched.stop());
  const inThread = new CheckScheduler({ createChecker: (await import('../../src/checks/index.js')).createChecker, onError: () => {} });
  const good = targets()[0];
  const badInterval = { ...targets()[1], check: { ...check, name: 'slow', intervalMs: 0 } };
  const badCa = { ...targets()[2], check: httpDef({ name: 'tls', scheme: 'https', tls: { verify: true, ca: '/nonexistent/ca.pem' } }) };
  const r = sched.setTargets([good, badInterval, badCa]);
  const expected = inThread.setTargets([good, badInterval, badCa]);
  await inThread.stop();
  t.equal(r.upserted, 1);
  t.same(r.rejected.map((x) => [x.target, x.message]), expected.rejected.map((x) => [x.target, x.message]));
  t.match(r.rejected[0].message, /interval must be > 0/);
  t.match(r.rejected[1].message, /cannot read CA file \/nonexistent\/ca\.pem/);
});

t.test('POOLD_CHECK_WORKERS picks the runner', async (t) => {
  t.equal(checkWorkersFromEnv(undefined), 0);
  t.equal(checkWorkersFromEnv('0'), 0);
  t.equal(checkWorkersFromEnv('3'), 3);
  t.ok(checkWorkersFromEnv('auto') >= 1);
  t.throws(() => checkWorkersFromEnv('many'), /POOLD_CHECK_WORKERS must be/);
  const { createChecker } = await import('../../src/checks/index.js');
  const inThread = createCheckRunner({ createChecker, workers: 0 });
  t.ok(inThread instanceof CheckScheduler);
  await inThread.stop();
  const sharded = createCheckRunner({ createChecker, workers: 1 });
  t.ok(sharded instanceof ShardedCheckScheduler);
  await sharded.stop();
});

t.test('each shard runs with its own heap limits (RSS at 10k checks/s, issue 16)', async (t) => {
  const { WORKER_HEAP } = await import('../../src/checks/sched-shards.js');
  const limitsOf = (s: ShardedCheckScheduler) =>
    (s as unknown as { shards: { worker: Worker }[] }).shards.map((x) => {
      const r = x.worker.resourceLimits ?? {};
      return [r.maxYoungGenerationSizeMb, r.maxOldGenerationSizeMb];
    });
  const dflt = new ShardedCheckScheduler({ workers: 2, onError: () => {} });
  t.teardown(() => dflt.stop());
  t.same(WORKER_HEAP, { youngMb: 12, oldMb: 64 });
  t.same(limitsOf(dflt), [[12, 64], [12, 64]], 'the defaults reach every worker');
  const custom = createCheckRunner({ createChecker: (await import('../../src/checks/index.js')).createChecker, workers: 1, workerHeap: { youngMb: 8, oldMb: 96 } });
  t.teardown(() => custom.stop());
  t.same(limitsOf(custom as ShardedCheckScheduler), [[8, 96]], 'createCheckRunner passes workerHeap through');
});
