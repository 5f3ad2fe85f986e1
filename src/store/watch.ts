// Prefix watches that survive etcd restarts and reconnects with no missed and no duplicated
// events. We drive etcd's Watch stream ourselves instead of using etcd3's Watcher because that
// one resumes from the *header* revision of the last response + 1, and a header revision can be
// ahead of the events delivered so far (a watcher catching up from an old revision), so a
// reconnect at the wrong moment would skip events. Here the resume point is the mod revision of
// the last event delivered + 1, and anything at or below it is dropped if etcd sends it again.
// A resume point older than etcd's compaction is reported as CompactedError: re-list, then watch.
import type { IWatchResponse } from 'etcd3';
import { StoreError } from '../model/errors.js';
import { CompactedError } from './errors.js';
import { prefixEnd, type KvEntry } from './kv.js';
import { entryFromEtcd3, type Etcd3Kv } from './kv-etcd3.js';
import { mapEtcdError } from './kv-errors.js';

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** The new value ('' for a delete). */
  value: string;
  /** The revision of the change (for a delete: the deletion's revision). */
  modRevision: number;
  createRevision: number;
  version: number;
  lease: string;
}

export interface WatchHandlers {
  /** Events of one or more revisions, in revision order. */
  onEvents(events: WatchEvent[]): void;
  /**
   * The watch cannot continue: CompactedError (re-list and watch again), or a permission or
   * other etcd refusal. The watch is stopped when this is called.
   */
  onError(err: StoreError): void;
  /** Connection state changes, for health reporting; reconnection is automatic. */
  onConnection?(state: 'connected' | 'disconnected', err?: unknown): void;
}

export interface WatchOptions {
  /** First reconnect delay; doubles up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

type WatchStream = Awaited<ReturnType<Etcd3Kv['client']['watchClient']['watch']>>;

export class PrefixWatch {
  /** Mod revision of the last event delivered (start revision - 1 before any event). */
  private lastSeen: number;
  private stream: WatchStream | undefined;
  private stopped = false;
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by every (re)connect: a stream that opens after a newer attempt began is dropped. */
  private attempt = 0;

  constructor(private kv: Etcd3Kv, readonly prefix: string, fromRevision: number,
    private readonly handlers: WatchHandlers, private readonly opts: WatchOptions = {}) {
    this.lastSeen = fromRevision - 1;
    this.backoffMs = opts.minBackoffMs ?? 50;
  }

  /** The revision up to which every event has been delivered. */
  get revision(): number {
    return this.lastSeen;
  }

  start(): void {
    void this.connect();
  }

  /**
   * Drops the current stream without reporting a disconnection and watches again from the last
   * delivered revision + 1, on `kv` (a fresh connection) when given: for a stream that stopped
   * delivering while its connection looks alive (daemon/watch-guard.ts). What the old stream had
   * not delivered comes as events of the new one; anything it repeats is dropped as on a resume.
   */
  restart(kv?: Etcd3Kv): void {
    if (this.stopped) return;
    if (kv !== undefined) this.kv = kv;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      s.on('error', () => { /* the cancellation we just asked for */ });
      s.cancel();
    }
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      s.on('error', () => { /* the cancellation we just asked for */ });
      s.cancel();
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const attempt = ++this.attempt;
    let stream: WatchStream;
    try {
      stream = await this.kv.client.watchClient.watch();
    } catch (err) {
      if (attempt === this.attempt) this.disconnected(err);
      return;
    }
    if (this.stopped || attempt !== this.attempt) {
      stream.on('error', () => { /* cancelled before use */ });
      stream.cancel();
      return;
    }
    this.stream = stream;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed || this.stream !== stream) return;
      failed = true;
      this.stream = undefined;
      stream.on('error', () => { /* cancelling a dead stream */ });
      stream.cancel();
      this.disconnected(err);
    };
    stream.on('data', (res: IWatchResponse) => this.onResponse(stream, res));
    stream.on('error', fail);
    stream.on('end', () => fail(new Error('watch stream ended')));
    const key = Buffer.from(this.prefix);
    stream.write({ create_request: { key, range_end: prefixEnd(key), start_revision: this.lastSeen + 1, progress_notify: true } });
  }

  private disconnected(err: unknown): void {
    if (this.stopped) return;
    this.handlers.onConnection?.('disconnected', err);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 1000);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private onResponse(stream: WatchStream, res: IWatchResponse): void {
    if (this.stream !== stream || this.stopped) return;
    if (res.created) {
      this.backoffMs = this.opts.minBackoffMs ?? 50;
      this.handlers.onConnection?.('connected');
    }
    if (res.canceled) {
      void this.stop();
      const compactRev = Number(res.compact_revision ?? 0);
      if (compactRev > 0) {
        this.handlers.onError(new CompactedError(
          `watch of ${this.prefix} from revision ${this.lastSeen + 1} is older than etcd's compaction at ${compactRev}; re-list and watch again`,
          this.lastSeen + 1, compactRev));
      } else {
        this.handlers.onError(mapEtcdError(res.cancel_reason || 'watch canceled',
          { op: 'watch', keys: [this.prefix], user: this.kv.user, endpoint: this.kv.options.endpoints.join(',') }));
      }
      return;
    }
    const fresh: WatchEvent[] = [];
    for (const ev of res.events ?? []) {
      const e = entryFromEtcd3(ev.kv);
      // A resumed stream may repeat what we already delivered: drop it.
      if (e.modRevision <= this.lastSeen) continue;
      fresh.push({ type: ev.type === 'Delete' ? 'delete' : 'put', ...e });
    }
    if (fresh.length === 0) return;
    this.lastSeen = fresh[fresh.length - 1].modRevision;
    this.handlers.onEvents(fresh);
  }
}

/** Watches `prefix` from `fromRevision` (inclusive). Call stop() to end it. */
export function watchPrefix(kv: Etcd3Kv, prefix: string, fromRevision: number, handlers: WatchHandlers, opts?: WatchOptions): PrefixWatch {
  const w = new PrefixWatch(kv, prefix, fromRevision, handlers, opts);
  w.start();
  return w;
}

export interface ListWatchHandlers {
  /** The full current contents at `revision`; called first, and again after every re-list. */
  onList(entries: KvEntry[], revision: number): void;
  onEvents(events: WatchEvent[]): void;
  /** Errors other than compaction (which re-lists by itself). */
  onError(err: StoreError): void;
  onConnection?(state: 'connected' | 'disconnected', err?: unknown): void;
}

export interface ListWatch {
  stop(): Promise<void>;
  /** The revision up to which the current watch has delivered every event (undefined while listing). */
  readonly revision: number | undefined;
  /** Re-establishes the current watch (PrefixWatch.restart), on `kv` when given. */
  restart(kv?: Etcd3Kv): void;
}

export interface ListWatchOptions extends WatchOptions {
  /** The client to watch on (default: the one that lists); read at every (re)start of the watch. */
  watchKv?: () => Etcd3Kv;
}

/**
 * Lists `prefix` at revision R, then watches from R+1, so the caller sees every change exactly
 * once after a consistent snapshot. If the watch falls behind a compaction it lists again.
 */
export async function listThenWatch(kv: Etcd3Kv, prefix: string, handlers: ListWatchHandlers, opts?: ListWatchOptions): Promise<ListWatch> {
  let current: PrefixWatch | undefined;
  let stopped = false;
  const begin = async (): Promise<void> => {
    const r = await kv.range({ key: prefix, prefix: true });
    if (stopped) return;
    handlers.onList(r.kvs, r.revision);
    current = watchPrefix(opts?.watchKv?.() ?? kv, prefix, r.revision + 1, {
      onEvents: handlers.onEvents,
      onConnection: handlers.onConnection,
      onError: (err) => {
        if (err instanceof CompactedError && !stopped) {
          current = undefined;
          begin().catch((e: unknown) => handlers.onError(e instanceof StoreError ? e : new StoreError(String(e), { prefix }, { cause: e })));
        } else {
          handlers.onError(err);
        }
      },
    }, opts);
  };
  await begin();
  return {
    async stop() {
      stopped = true;
      await current?.stop();
    },
    get revision() {
      return current?.revision;
    },
    restart(k?: Etcd3Kv) {
      current?.restart(k);
    },
  };
}
