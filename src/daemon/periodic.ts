// One piece of background work run now and every interval until stopped, never twice at once (a
// slow etcd must not pile runs up), on a timer that does not keep the process alive. Shared by audit
// retention, etcd compaction and the etcd space check.
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  /** `run` must not reject: it reports its own failures (a rejection here would be a bug to see). */
  constructor(private readonly intervalMs: number, private readonly run: () => Promise<void>) {}

  get started(): boolean {
    return this.timer !== undefined;
  }

  /** Runs now and every interval; does nothing if already started. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.once(), this.intervalMs);
    this.timer.unref();
    void this.once();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async once(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.run();
    } finally {
      this.running = false;
    }
  }
}
