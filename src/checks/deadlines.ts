// Check deadlines without a Timeout per check. A check's deadline is an epoch-ms instant (the
// Date.now() clock); it is turned into a delay once, when the check starts, as a setTimeout would.
// Checks with the same delay (all checks of one timeout, started by the scheduler within the same
// millisecond of its computing the deadline) expire in the order they were added, so one FIFO per
// whole-millisecond delay with one armed timer (delay-queue.ts) does what a Timeout each would: same
// resolution (whole milliseconds, as node's own timers), no object and no timer-list insert and
// removal per check. Nearly every deadline is cancelled about a millisecond after it was set.
import { FixedDelayQueue } from './delay-queue.js';

export interface DeadlineOwner {
  deadlineReached(): void;
}

/** Where a pending deadline is, to cancel it: its lane and slot there. */
export interface DeadlineHandle {
  lane: FixedDelayQueue<DeadlineOwner> | undefined;
  slot: number;
}

/** One lane per whole-millisecond delay; a lane that empties is dropped when its timer fires. */
const lanes = new Map<number, FixedDelayQueue<DeadlineOwner>>();

function fireDeadline(owner: DeadlineOwner): void {
  owner.deadlineReached();
}

/**
 * Calls `owner.deadlineReached()` once `deadline` (epoch ms) has passed, unless cancelled; writes
 * where it waits into `h` (the owner's own fields, so nothing is allocated per deadline).
 */
export function setDeadline(owner: DeadlineOwner, deadline: number, h: DeadlineHandle): void {
  const delay = Math.max(0, Math.ceil(deadline - Date.now()));
  let lane = lanes.get(delay);
  if (lane === undefined) {
    lane = new FixedDelayQueue<DeadlineOwner>(delay, fireDeadline, () => lanes.delete(delay));
    lanes.set(delay, lane);
  }
  h.lane = lane;
  h.slot = lane.add(owner);
}

/** Cancels a deadline set with setDeadline (a no-op once it fired or was cancelled). */
export function clearDeadline(h: DeadlineHandle): void {
  const lane = h.lane;
  if (lane === undefined) return;
  h.lane = undefined;
  lane.cancel(h.slot);
}

/** Lanes currently kept (tests: lanes are dropped once they drain). */
export function deadlineLanes(): number {
  return lanes.size;
}
