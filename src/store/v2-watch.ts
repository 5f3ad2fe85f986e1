// List, then watch, a directory of etcd's v2 keyspace, with nothing missed: the listing is served
// at store index I, the watch starts at I + 1 and moves past every event it delivers. etcd keeps
// only its last 1000 v2 events (store-wide), so a watcher that falls behind gets 401
// (V2IndexClearedError): it lists again, and the caller treats the new listing as the truth.
// A quiet watch is ended by the client after maxWaitMs and resumed from the watch's own start
// index (no event below the prefix can lie between: it would have been returned at once), so a
// quiet prefix on a busy etcd does not drift out of the history.
import { V2IndexClearedError } from './v2-errors.js';
import { V2WatchStoppedError, type V2Client, type V2Listing, type V2Response } from './v2-client.js';

export interface V2WatchHandlers {
  /** The full contents of the directory: first, and again after every 401. Awaited before watching. */
  onList(listing: V2Listing): void | Promise<void>;
  /** One change below the directory (a leaf, or a directory created/deleted/expired). */
  onEvent(event: V2Response): void;
  /** Connection state changes; the watch reconnects by itself. */
  onConnection?(state: 'connected' | 'disconnected', err?: unknown): void;
}

export interface V2WatchOptions {
  /** A quiet long poll is renewed after this long (default 30 s). */
  maxWaitMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class V2DirWatch {
  private stopped = false;
  private readonly abort = new AbortController();
  private running: Promise<void> = Promise.resolve();
  private connected: boolean | undefined;
  /** How many times the directory was listed (1 + one per 401 or reconnect that needed it). */
  lists = 0;

  constructor(private readonly client: V2Client, readonly dir: string, private readonly h: V2WatchHandlers,
    private readonly opts: V2WatchOptions = {}) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running;
  }

  private state(s: 'connected' | 'disconnected', err?: unknown): void {
    if (this.connected === (s === 'connected')) return;
    this.connected = s === 'connected';
    this.h.onConnection?.(s, err);
  }

  private async loop(): Promise<void> {
    let needList = true;
    let next = 0;
    let backoff = this.opts.minBackoffMs ?? 50;
    while (!this.stopped) {
      try {
        if (needList) {
          const listing = await this.client.list(this.dir, { quorum: true });
          this.lists++;
          if (this.stopped) return;
          await this.h.onList(listing);
          next = listing.etcdIndex + 1;
          needList = false;
        }
        const r = await this.client.wait(this.dir, {
          waitIndex: next, recursive: true, maxWaitMs: this.opts.maxWaitMs ?? 30_000, signal: this.abort.signal,
        });
        this.state('connected');
        backoff = this.opts.minBackoffMs ?? 50;
        if (r.event === null) {
          next = Math.max(next, r.etcdIndex + 1);
          continue;
        }
        next = r.event.node.modifiedIndex + 1;
        this.h.onEvent(r.event);
      } catch (err) {
        if (this.stopped || err instanceof V2WatchStoppedError) return;
        if (err instanceof V2IndexClearedError) {
          needList = true;
          continue;
        }
        // Unreachable etcd, or the caller's onList failing (it reads v3 too): report, back off, list again.
        this.state('disconnected', err);
        // After an outage the history may have moved on; listing again is cheap and certain.
        needList = true;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, this.opts.maxBackoffMs ?? 2000);
      }
    }
  }
}
