// Runs serially (package.json tap.serial): it asserts schedule lateness, so it must not share the two
// cores with other test files.
// The load-correctness requirement: 1,000 servers checked over real HTTP at a 1 s interval on loopback
// for 30 s keep schedule lateness (actual start - due time) at p99 <= 250 ms, with every check run
// on time and every backend seeing its requests. (Speed per check is measured in bench/checks.)
import t from 'tap';
import { CheckScheduler } from '../../src/checks/scheduler.js';
import { createChecker } from '../../src/checks/index.js';
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { call } from '../../bench/checks/ipc.js';
import type { ScheduledTarget } from '../../src/checks/scheduler.js';
import { httpDef, svc } from '../checks/scheduler-fakes.js';

const SERVERS = 1000;
const SECONDS = 30;

interface Round {
  st: ReturnType<CheckScheduler['stats']>;
  down: number;
  downCodes: Map<string, number>;
  requests: number;
  healthyAtEnd: number;
  note: string;
}

/** One 30 s round against fresh backends (in their own process, as real backends would be). */
async function round(): Promise<Round> {
  const addresses = Array.from({ length: SERVERS }, (_, i) => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  // fork() inherits tap's TypeScript loader; the event loop measured here is the scheduler's and the checkers' only.
  const sim = fork(fileURLToPath(new URL('../../bench/checks/sim-child.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const list = await call<{ address: string; port: number }[]>(sim, 'start', { addresses, service: 'loadsvc' });
    const ports = new Map(list.map((b) => [b.address, b.port]));
    const check = httpDef({ intervalMs: 1000, timeoutMs: 900, rise: 1, fall: 1, expect: { status: [{ from: 200, to: 200 }], body: { contains: 'loadsvc' } } });
    const targets: ScheduledTarget[] = addresses.map((address, i) => ({
      service: svc('load'),
      host: `load${i}.eqiad.wmnet`,
      address,
      port: ports.get(address)!,
      check,
      flapping: { transitions: 0, windowMs: 0 },
      initialUp: true,
    }));
    const sched = new CheckScheduler({ createChecker });
    let down = 0;
    const downCodes = new Map<string, number>();
    sched.addListener({
      result: (e) => {
        if (!e.result.up) {
          down++;
          downCodes.set(e.result.code, (downCodes.get(e.result.code) ?? 0) + 1);
        }
      },
    });
    sched.setTargets(targets);
    // Diagnostics only: tells "the machine was starved" apart from "the scheduler was late".
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const started = Date.now();
    sched.start();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const st = sched.stats();
    const elapsed = (Date.now() - started) / 1000;
    loopDelay.disable();
    await sched.stop();
    const requests = (await call<{ requests: number }>(sim, 'totals')).requests;
    const healthyAtEnd = targets.filter((x) => sched.health(`eqiad/load/${x.host}/${x.check.name}`)?.up).length;
    const note = `lateness ${JSON.stringify(st.lateness)}; runs ${st.completed} in ${elapsed.toFixed(1)} s; missed ${st.missedSlots}; down ${down} ${JSON.stringify([...downCodes])}; requests ${requests}; ` +
      `event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`;
    return { st, down, downCodes, requests, healthyAtEnd, note };
  } finally {
    await call(sim, 'stop').catch(() => sim.kill());
  }
}

t.test(`${SERVERS} servers at 1 s for ${SECONDS} s: lateness p99 <= 250 ms`, { timeout: (2 * SECONDS + 90) * 1000 }, async (t) => {
  let r = await round();
  t.comment(r.note);
  // This file runs alone (tap.serial), but the machine may be shared: when the 1-minute load average
  // shows other work beyond our two processes, one more round is allowed before judging. On a quiet
  // machine (CI) the first round is the verdict.
  const overloaded = loadavg()[0] > cpus().length + 2;
  if (r.st.lateness.p99 > 250 && overloaded) {
    t.comment(`machine overloaded by other work (load ${loadavg()[0].toFixed(1)} on ${cpus().length} cores): one more round`);
    r = await round();
    t.comment(r.note);
  }
  const { st, down, requests } = r;
  t.ok(st.lateness.p99 <= 250, `lateness p99 ${st.lateness.p99} ms <= 250 ms (p50 ${st.lateness.p50}, max ${st.lateness.max})`);
  // Every server checked every second: ~30 runs each, minus the first partial interval.
  t.ok(st.completed >= SERVERS * (SECONDS - 2), `runs ${st.completed} >= ${SERVERS * (SECONDS - 2)}`);
  t.equal(st.missedSlots, 0, 'no slot missed');
  t.equal(st.queueFullDrops, 0, 'no slot dropped');
  t.equal(down, 0, 'every check against a healthy backend succeeded');
  t.ok(requests >= st.completed, `the backends saw every check (${requests} requests)`);
  t.equal(r.healthyAtEnd, SERVERS, 'all servers up at the end');
});
