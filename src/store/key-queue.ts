// Runs an async job per key, never two at once for the same key and at most `concurrency` overall.
// Scheduling a key that is already queued or running only marks it to run once more afterwards,
// so a burst of events for one key costs at most two runs. Used by the v2 bridge, whose job
// (reconcile a key) is level-triggered: a run always looks at the current state, so coalescing
// events loses nothing.

export interface KeyQueueOptions {
  concurrency: number;
  /** Called whenever the queue becomes empty (nothing delayed, waiting or running). */
  onIdle?: () => void;
}

export class KeyQueue {
  private readonly queued = new Map<string, { again: boolean }>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private stopped = false;

  /** `job` must not throw: it handles (logs, reschedules) its own failures. */
  constructor(private readonly job: (key: string) => Promise<void>, private readonly o: KeyQueueOptions) {}

  /** Keys delayed, waiting or running. */
  get size(): number {
    return this.queued.size;
  }

  /** Runs `job(key)` after `delayMs`, or once more after its current run if already queued. */
  schedule(key: string, delayMs = 0): void {
    if (this.stopped) return;
    const q = this.queued.get(key);
    if (q !== undefined) {
      q.again = true;
      return;
    }
    const state = { again: false };
    this.queued.set(key, state);
    if (delayMs <= 0) {
      void this.run(key, state);
      return;
    }
    this.delayed.set(key, setTimeout(() => {
      this.delayed.delete(key);
      void this.run(key, state);
    }, delayMs));
  }

  /** Drops delayed keys and accepts no more; runs in progress finish (their `again` is ignored). */
  stop(): void {
    this.stopped = true;
    for (const [key, t] of this.delayed) {
      clearTimeout(t);
      this.queued.delete(key);
    }
    this.delayed.clear();
    if (this.queued.size === 0) this.o.onIdle?.();
  }

  private async slot(): Promise<void> {
    if (this.running < this.o.concurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private async run(key: string, state: { again: boolean }): Promise<void> {
    await this.slot();
    try {
      do {
        state.again = false;
        await this.job(key);
      } while (state.again && !this.stopped);
    } finally {
      this.release();
      this.queued.delete(key);
      if (this.queued.size === 0) this.o.onIdle?.();
    }
  }
}
