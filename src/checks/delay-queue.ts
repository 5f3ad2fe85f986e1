// Many waits of one fixed length on one timer. Items expire in the order they were added, so a FIFO
// and a single armed timer (for the oldest) do what a Timeout per item would, without allocating one
// per item. Used for the unclosed grace: nearly every check arms it, and nearly every one is
// cancelled within a millisecond when the server's FIN arrives.
import { performance } from 'node:perf_hooks';

export class FixedDelayQueue<T> {
  private items: (T | undefined)[] = [];
  private dueAt: number[] = [];
  private head = 0;
  /** Sequence number of items[0]: slots stay valid across compaction. */
  private base = 0;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly delayMs: number,
    private readonly fire: (item: T) => void,
  ) {}

  /** Fires `item` after delayMs unless cancelled; returns its slot for cancel(). */
  add(item: T): number {
    const at = performance.now() + this.delayMs;
    this.items.push(item);
    this.dueAt.push(at);
    if (this.timer === undefined) this.arm(at);
    return this.base + this.items.length - 1;
  }

  /** Drops the item in `slot` (a no-op once it fired or was cancelled): it is no longer referenced. */
  cancel(slot: number): void {
    const i = slot - this.base;
    if (i >= this.head && i < this.items.length) this.items[i] = undefined;
  }

  /** Items waiting (cancelled ones included until their time passes). */
  get length(): number {
    return this.items.length - this.head;
  }

  private arm(at: number): void {
    this.timer = setTimeout(onQueueTimer, Math.max(0, at - performance.now()), this);
  }

  expire(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head < this.items.length && this.dueAt[this.head] <= now) {
      const item = this.items[this.head];
      this.items[this.head] = undefined;
      this.head++;
      if (item !== undefined) this.fire(item);
    }
    this.compact();
    if (this.head < this.items.length && this.timer === undefined) this.arm(this.dueAt[this.head]);
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.base += this.head;
      this.items = [];
      this.dueAt = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.base += this.head;
      this.items = this.items.slice(this.head);
      this.dueAt = this.dueAt.slice(this.head);
      this.head = 0;
    }
  }
}

function onQueueTimer(q: { expire(): void }): void {
  q.expire();
}
