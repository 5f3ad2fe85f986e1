// Clocks and timers for the scheduler, injectable so tests can drive rise/fall/flapping with fake time.
//
// Two clocks, for two jobs. Slots, timers, lateness and the watchdog run on a monotonic clock, so a
// step of the wall clock (NTP at boot, an operator's `date -s`, a VM resumed) neither holds checks
// back nor fires a burst of them: with the wall clock, a step back of an hour stalled every check for
// that hour. The wall clock only stamps what leaves the scheduler (result and health times, which
// other processes compare with theirs) and gives the checkers their deadline (their contract).
import { performance } from 'node:perf_hooks';

export type TimerHandle = unknown;

export interface SchedulerClock {
  /** Monotonic milliseconds (any origin): every schedule decision is taken on this clock. */
  now(): number;
  /** Epoch milliseconds (Date.now()): timestamps of results and health, and checker deadlines. */
  wallNow(): number;
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export const systemClock: SchedulerClock = {
  now: () => performance.now(),
  // Looked up at each call, not captured: Date.now is what the rest of the process stamps with.
  wallNow: () => Date.now(),
  // A due time already past is "now": Node 26 warns (TimeoutNegativeWarning) on a negative delay.
  setTimer: (fn, delayMs) => setTimeout(fn, Math.max(0, delayMs)),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets queued promise callbacks (checker results, listeners) run between fake timer firings. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Fake clock for tests: time only moves in advance(), which fires due timers in time order and lets
 * promise chains settle after each one, so a checker that "takes" 1500 ms of fake time behaves as
 * it would in real time. The wall clock follows it, plus whatever stepWall() added.
 */
export class ManualClock implements SchedulerClock {
  private t: number;
  private wallOffset = 0;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.t + this.wallOffset;
  }

  /** Steps the wall clock (forward or back) without time passing, as NTP or `date -s` would. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.t + Math.max(0, delayMs), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  /** Pending timers, for assertions such as "nothing is left armed after stop()". */
  get pending(): number {
    return this.timers.length;
  }

  /** Sleeps in fake time: resolves once advance() passes `ms` from now. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(resolve, ms));
  }

  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      let next: ManualTimer | undefined;
      for (const x of this.timers) if (x.at <= target && (!next || x.at < next.at || (x.at === next.at && x.id < next.id))) next = x;
      if (!next) break;
      const fire = next;
      this.timers = this.timers.filter((x) => x !== fire);
      this.t = Math.max(this.t, fire.at);
      fire.fn();
      await settle();
    }
    this.t = target;
    await settle();
  }
}
