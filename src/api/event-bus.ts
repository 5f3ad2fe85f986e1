// Structured events for people and dashboards (GET /v1/events), with a bounded memory of recent
// events so a client that reconnects with Last-Event-ID misses nothing that is still buffered.
import { randomBytes } from 'node:crypto';
import type { ConftoolValue, PoolKey, ReasonCode, ServiceKey } from '../model/types.js';

/** A host's effective state as events report it (before/after of a state change). */
export interface HostSnapshot {
  enabled: boolean;
  up: boolean;
  pooled: boolean;
  weight: number;
  reason: string;
}

export type PoolEventBody =
  /** The published effective state of one host changed (or the host appeared/disappeared). */
  | { type: 'state'; pool: ServiceKey; host: string; revision: number; before: HostSnapshot | null; after: HostSnapshot | null }
  /** One check of one host went from up to down or back (from this instance's own verdicts). */
  | { type: 'check'; pool: ServiceKey; host: string; check: string; up: boolean; code: ReasonCode; message: string; totalMs: number }
  /** conftool admin state changed (pool/depool/weight/decommission). */
  /** conftool admin state changed in a pool; `services` names the LVS services over that pool (in scope). */
  | { type: 'admin'; pool: PoolKey; services: string[]; host: string; before: ConftoolValue | null; after: ConftoolValue | null; actor?: string; reason?: string }
  | { type: 'flapping'; pool: ServiceKey; host: string; flapping: boolean }
  | { type: 'drift'; pool: ServiceKey; problems: string[] }
  | { type: 'stale'; pool: ServiceKey | null; stale: boolean; sinceMs: number | null }
  | { type: 'leadership'; leader: boolean; leaderId: string | null }
  /**
   * Something the LVS agent acts on changed for this pool: its published state (a new revision,
   * whether or not a host's summary changed), its definition, or it was removed. The event names the
   * pool to re-fetch (`GET /v1/pools/:dc/:name`); `revision` is the state's, if any. With
   * `/v1/events?detail=1` it is written with that answer as `detail` (routes-events.ts; not kept here).
   */
  | { type: 'pool'; pool: ServiceKey; change: 'state' | 'definition' | 'removed'; revision: number | null };

export type PoolEventType = PoolEventBody['type'];

/** An event as delivered: a strictly increasing id (per process) and the time it was published. */
export type PoolEvent = PoolEventBody & { id: number; at: number };

export type EventListener = (event: PoolEvent) => void;

export interface Replay {
  events: PoolEvent[];
  /** True when events after `lastId` were already evicted from the buffer (the client missed some). */
  gap: boolean;
}

export class EventBus {
  private readonly ring: PoolEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private nextId = 1;
  /**
   * Names this bus (one per process). Ids restart at 1 with the process, so a client resuming with
   * Last-Event-ID compares epochs to tell "my id is from this stream" from "poold restarted and has
   * issued that id again" (which `since` cannot detect once the new process has passed the old id).
   */
  readonly epoch = randomBytes(6).toString('hex');

  constructor(
    /** How many recent events are kept for late subscribers. */
    readonly capacity = 1000,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`EventBus capacity must be a positive integer, got ${capacity}`);
  }

  /** Stamps the event with an id and time, buffers it and hands it to every subscriber. */
  publish(body: PoolEventBody): PoolEvent {
    const event = { ...body, id: this.nextId++, at: this.now() } as PoolEvent;
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    // Listeners must not throw (ours, the SSE writers, handle their own socket errors); a throw
    // reaches the publisher on purpose, as it is a bug to see rather than to hide.
    for (const listener of [...this.listeners]) listener(event);
    return event;
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /** The id the last published event got (0 before any). */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** Buffered events, oldest first. */
  recent(): PoolEvent[] {
    return [...this.ring];
  }

  /**
   * Buffered events published after `lastId`. An id from a previous process (larger than any
   * issued here) replays the whole buffer, flagged as a gap.
   */
  since(lastId: number): Replay {
    if (lastId > this.lastId) return { events: this.recent(), gap: true };
    const events = this.ring.filter((e) => e.id > lastId);
    const oldest = this.ring[0]?.id ?? this.nextId;
    return { events, gap: lastId + 1 < oldest };
  }
}
