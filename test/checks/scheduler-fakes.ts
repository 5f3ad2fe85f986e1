// Fakes for scheduler unit tests: a checker whose latency and verdict are scripted in fake time, and a
// seeded random source. Real backends are used in scheduler-real.test.ts and scheduler-load.test.ts.

import type { Checker, CheckTarget } from '../../src/checks/checker.js';
import type { ManualClock } from '../../src/checks/sched-clock.js';
import type { CheckDef, CheckResult, HttpCheckDef, ServiceKey, TcpCheckDef } from '../../src/model/types.js';
import type { ScheduledTarget } from '../../src/checks/scheduler.js';
import { httpCheckDef } from '../helpers/defs.js';

export function seeded(seed: number): () => number {
  // mulberry32: tiny, deterministic, good enough for jitter.
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Call {
  target: CheckTarget;
  deadline: number;
  startedAt: number;
  finishedAt?: number;
}

export interface Verdict {
  up: boolean;
  /** Fake-time latency; default 10 ms. */
  latencyMs?: number;
  /** Never settle (to exercise the watchdog). */
  hang?: boolean;
  /** Throw instead of returning (a checker bug). */
  throws?: string;
}

/** Shared across all checkers of a test, so in-flight counts are global. */
export class FakeBackends {
  calls: Call[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** In-flight per address|port, to prove one probe never runs twice at once. */
  perTarget = new Map<string, number>();
  maxPerTarget = 0;
  checkers: FakeChecker[] = [];
  closed: FakeChecker[] = [];
  /** Decides each result from the target address and call time. */
  verdict: (target: CheckTarget, now: number) => Verdict = () => ({ up: true });

  constructor(readonly clock: ManualClock) {}

  create = (def: CheckDef): Checker => {
    const c = new FakeChecker(def, this);
    this.checkers.push(c);
    return c;
  };

  callsTo(address: string): Call[] {
    return this.calls.filter((c) => c.target.address === address);
  }
}

export class FakeChecker implements Checker {
  constructor(
    readonly def: CheckDef,
    private readonly b: FakeBackends,
  ) {}

  async check(target: CheckTarget, deadline: number): Promise<CheckResult> {
    const b = this.b;
    const now = b.clock.now();
    const v = b.verdict(target, now);
    if (v.throws) throw new Error(v.throws);
    const call: Call = { target, deadline, startedAt: now };
    b.calls.push(call);
    const tk = `${target.address}|${target.port}|${JSON.stringify(this.def)}`;
    b.inFlight++;
    b.maxInFlight = Math.max(b.maxInFlight, b.inFlight);
    const n = (b.perTarget.get(tk) ?? 0) + 1;
    b.perTarget.set(tk, n);
    b.maxPerTarget = Math.max(b.maxPerTarget, n);
    if (v.hang) return new Promise<CheckResult>(() => {});
    await b.clock.sleep(v.latencyMs ?? 10);
    b.inFlight--;
    b.perTarget.set(tk, b.perTarget.get(tk)! - 1);
    call.finishedAt = b.clock.now();
    return {
      up: v.up,
      code: v.up ? 'ok' : 'refused',
      message: v.up ? 'status 200' : 'connection refused',
      timings: { totalMs: v.latencyMs ?? 10 },
      findings: [],
    };
  }

  async close(): Promise<void> {
    this.b.closed.push(this);
  }
}

export const svc = (service: string): ServiceKey => ({ dc: 'eqiad', name: service });

export function tcpDef(over: Partial<TcpCheckDef> = {}): TcpCheckDef {
  return { kind: 'tcp', name: 'tcp', timeoutMs: 500, intervalMs: 1000, rise: 1, fall: 1, ...over };
}

export function httpDef(over: Partial<HttpCheckDef> = {}): HttpCheckDef {
  return httpCheckDef({ rise: 2, fall: 2, ...over });
}

export function target(n: number, over: Partial<ScheduledTarget> = {}): ScheduledTarget {
  return {
    service: svc('cxserver'),
    host: `sca${1000 + n}.eqiad.wmnet`,
    address: `127.0.${Math.floor(n / 250)}.${(n % 250) + 1}`,
    port: 8080,
    check: tcpDef(),
    flapping: { transitions: 0, windowMs: 0 },
    ...over,
  };
}
