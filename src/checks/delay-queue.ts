// Many waits of one fixed length on one timer. Items expire in the order they were added, so a FIFO
// and a single armed timer (for the oldest) do what a Timeout per item would, without allocating one
// per item. Used for the unclosed grace and for check deadlines (deadlines.ts): nearly every check
// arms them, and nearly every one is cancelled within a millisecond (the server's FIN, the response).
// The timer is armed for the oldest item still live: cancelled items at the head are skipped when
// the timer fires, so a stream of items cancelled soon after being added costs one timer firing
// per delay, not one per item.
import { performance } from 'node:perf_hooks';

export class FixedDelayQueue<T> {
  private items: (T | undefined)[] = [];
  private dueAt: number[] = [];
  private head = 0;
  /** Sequence number of items[0]: slots stay valid across compaction. */
  private base = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** Items added and neither fired nor cancelled. With none, the timer does not hold the process. */
  private live = 0;
  /** Inside expire(): an item added by fire() must not arm the timer for itself, past older items. */
  private expiring = false;

  /** `onEmpty`: called when the timer fired and nothing is left waiting (the owner may drop the queue). */
  constructor(
    readonly delayMs: number,
    private readonly fire: (item: T) => void,
    private readonly onEmpty?: () => void,
  ) {}

  /** Fires `item` after delayMs unless cancelled; returns its slot for cancel(). */
  add(item: T): number {
    const at = performance.now() + this.delayMs;
    this.items.push(item);
    this.dueAt.push(at);
    if (this.live++ === 0 && this.timer !== undefined) this.timer.ref();
    if (this.timer === undefined && !this.expiring) this.arm(at);
    return this.base + this.items.length - 1;
  }

  /** Drops the item in `slot` (a no-op once it fired or was cancelled): it is no longer referenced. */
  cancel(slot: number): void {
    const i = slot - this.base;
    if (i >= this.head && i < this.items.length && this.items[i] !== undefined) {
      this.items[i] = undefined;
      // Only cancelled items left: their timer must not keep a finished process alive.
      if (--this.live === 0 && this.timer !== undefined) this.timer.unref();
    }
  }

  /** Items waiting (cancelled ones included until their time passes). */
  get length(): number {
    return this.items.length - this.head;
  }

  private arm(at: number): void {
    this.timer = setTimeout(onQueueTimer, Math.max(0, at - performance.now()), this);
    if (this.live === 0) this.timer.unref();
  }

  expire(): void {
    this.timer = undefined;
    const now = performance.now();
    const items = this.items;
    this.expiring = true;
    try {
      while (this.head < items.length && this.dueAt[this.head] <= now) {
        const item = items[this.head];
        items[this.head] = undefined;
        this.head++;
        if (item !== undefined) {
          this.live--;
          this.fire(item);
        }
      }
    } finally {
      this.expiring = false;
    }
    // Cancelled items need no timer: arm for the first live one (fire() may have added items).
    while (this.head < this.items.length && this.items[this.head] === undefined) this.head++;
    this.compact();
    if (this.head < this.items.length) {
      if (this.timer === undefined) this.arm(this.dueAt[this.head]);
    } else if (this.timer === undefined) {
      this.onEmpty?.();
    }
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
