// An in-memory mirror of one etcd prefix: a consistent list, then every change exactly once
// (store/watch.ts), delivered as typed upserts and deletes. Connection state is reported so the
// daemon can mark what it serves as stale while etcd is unreachable (fail-static, never emptied).
import type { StoreError } from '../model/errors.js';
import type { Etcd3Kv } from '../store/kv-etcd3.js';
import type { KvEntry } from '../store/kv.js';
import { listThenWatch, type ListWatch, type WatchEvent } from '../store/watch.js';

export interface MirrorHandlers {
  /**
   * A key was written (`listed` false), or listed: at start, and again after a re-list following a
   * compaction, when every key is delivered whether or not it changed.
   */
  upsert(key: string, value: string, modRevision: number, listed: boolean): void;
  /** A key was deleted at `revision` (or was absent from a re-list: revision undefined). */
  remove(key: string, revision?: number): void;
  /** After the initial list and every batch of events: a good moment to recompute. */
  settled?(): void;
  connection?(state: 'connected' | 'disconnected', err?: unknown): void;
  error(err: StoreError): void;
}

export class Mirror {
  private readonly known = new Set<string>();
  private watch: ListWatch | undefined;

  /** `watchKv`: the client to watch on (its own connection, see watch-guard.ts); default `kv`. */
  constructor(private readonly kv: Etcd3Kv, readonly prefix: string, private readonly h: MirrorHandlers,
    private readonly watchKv?: () => Etcd3Kv) {}

  /** The revision up to which the watch has delivered every change (undefined while listing). */
  get watchRevision(): number | undefined {
    return this.watch?.revision;
  }

  /** Drops the watch stream and watches again from where it was, on `kv` when given. */
  restartWatch(kv?: Etcd3Kv): void {
    this.watch?.restart(kv);
  }

  async start(): Promise<void> {
    this.watch = await listThenWatch(this.kv, this.prefix, {
      onList: (entries: KvEntry[]) => {
        // A re-list (after compaction) replaces the contents: keys not listed were deleted meanwhile.
        const listed = new Set(entries.map((e) => e.key));
        for (const k of [...this.known]) {
          if (!listed.has(k)) {
            this.known.delete(k);
            this.h.remove(k);
          }
        }
        for (const e of entries) {
          this.known.add(e.key);
          this.h.upsert(e.key, e.value, e.modRevision, true);
        }
        this.h.settled?.();
      },
      onEvents: (events: WatchEvent[]) => {
        for (const ev of events) {
          if (ev.type === 'put') {
            this.known.add(ev.key);
            this.h.upsert(ev.key, ev.value, ev.modRevision, false);
          } else {
            this.known.delete(ev.key);
            this.h.remove(ev.key, ev.modRevision);
          }
        }
        this.h.settled?.();
      },
      onError: (err) => this.h.error(err),
      onConnection: (state, err) => this.h.connection?.(state, err),
    }, { watchKv: this.watchKv });
  }

  async stop(): Promise<void> {
    await this.watch?.stop();
  }
}
