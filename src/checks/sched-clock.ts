// Clock and timers for the scheduler, injectable so tests can drive rise/fall/flapping with fake time.

export type TimerHandle = unknown;

export interface SchedulerClock {
  /** Epoch milliseconds; the same clock the checkers' deadlines use. */
  now(): number;
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export const systemClock: SchedulerClock = {
  now: Date.now,
  setTimer: (fn, delayMs) => setTimeout(fn, delayMs),
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
 * it would in real time.
 */
export class ManualClock implements SchedulerClock {
  private t: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
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
