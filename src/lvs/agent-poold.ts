// Agent source B: poold's JSON API, for LVS hosts that may talk HTTP to poold but not to etcd.
//
// Pushed, with polling as the fallback:
//   - it follows `GET /v1/events?types=pool&detail=1&services=<its services>` (server-sent events;
//     `services=` only when the agent serves a list, and left out if poold refuses it). Each `pool` event names
//     a pool whose state, definition or existence changed, and carries its detail (the
//     `/v1/pools/:dc/:name` body, decoded with the same parsePoolDetail): the source takes it from
//     the event, with no request. An event without a detail (a removed pool; an older poold, which
//     refuses `detail` with a 400: the stream is reopened at once without it), with one that does
//     not decode, or with one older than what the source has (a lower state revision) makes the
//     source re-fetch just that pool, as it always did;
//   - a dropped stream is resumed with Last-Event-ID: poold replays what was missed. When it cannot
//     (the id was evicted from poold's buffer: `event: gap`; or poold restarted: another epoch in its
//     first comment line), the source re-fetches everything (`GET /v1/pools`, then every pool);
//   - while there is no stream (refused with 404/500, unreachable, cut), it polls every `pollMs` as
//     before, and retries the stream with exponential backoff. With a stream it still re-fetches
//     everything every `resyncMs`, a safety net that costs little.
// Fail static: any failed request marks the source unhealthy and the agent leaves the table alone
// until a good round; a pool poold no longer has keeps its last known inputs (never emptied).
// The API gives the LVS definition and the server addresses pools/ has; other host names are resolved.
import type { PoolRef, ServiceDef, ServiceKey } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { errorMessage, StoreError } from '../model/errors.js';
import { parsePoolDetail } from './agent-codec.js';
import { openSse, type SseEnd, type SseRecord } from './agent-sse.js';
import type { AgentSource, ServiceInputs } from './agent-source.js';

export interface PooldSourceOptions {
  /** Base URL of poold, e.g. http://poold.svc:9090 */
  url: string;
  filter: (path: string) => boolean;
  /** Poll period while there is no event stream. Default 1000 ms (PyBal polls its config every second). */
  pollMs?: number;
  /** Per-request deadline. Default 2000 ms. */
  timeoutMs?: number;
  /**
   * While polling, every this many polls fetch every pool's detail even if its state revision did
   * not move: the summary has no definition revision, so a definition change alone is seen this way. Default 10.
   */
  fullEvery?: number;
  /** Follow /v1/events. Default true; false polls only (the behaviour before the stream). */
  stream?: boolean;
  /** With the stream up, re-fetch everything this often anyway. Default 60 000 ms. */
  resyncMs?: number;
  /** First delay before retrying a failed or refused stream; doubles up to `streamRetryMaxMs`. Default 500 ms. */
  streamRetryMs?: number;
  /** Default 30 000 ms. */
  streamRetryMaxMs?: number;
  /** A stream silent this long is dead (poold sends a heartbeat every 15 s). Default 45 000 ms. */
  streamIdleMs?: number;
  /** Ask for the pool's detail inside `pool` events (`&detail=1`). Default true; false re-fetches on every event. */
  inlineDetail?: boolean;
  /**
   * `dc/name` of the LVS services this agent serves: the stream is asked for their events only
   * (`&services=`), so poold's per-client detail budget goes to them. Empty or absent: every service.
   */
  services?: readonly string[];
}

/** What /status shows of this source, and what tests assert on. */
export interface PooldSourceDetail {
  /** `stream`: following /v1/events; `poll`: no stream, polling every pollMs. */
  mode: 'stream' | 'poll';
  lastEventId: string | null;
  /** poold's event-bus epoch seen on the last stream (one per poold process). */
  epoch: string | null;
  streamOpens: number;
  /** Streams reopened with Last-Event-ID and replayed without a full re-fetch. */
  resumes: number;
  /** Full re-fetches (every pool's detail): start, gaps, poold restarts, resyncs, after errors. */
  fullFetches: number;
  /** Single-pool re-fetches asked for by events. */
  poolFetches: number;
  /** Pools taken from the detail an event carried (no re-fetch). */
  inlineApplied: number;
  /** Details in events that did not decode: the pool was re-fetched instead. */
  inlineRejected: number;
  /** Details in events older than the pool's known state revision: not applied, the pool was re-fetched. */
  inlineStale: number;
  /** Streams poold refused with 400 when asked for details (an older poold): reopened without. */
  detailRefused: number;
  /** Streams poold refused with 400 when asked for `services=` (an older poold): reopened without (filtered here). */
  servicesRefused: number;
  /** Why the last inline detail was not used. */
  inlineError: string | null;
  /** Why the stream is not up, while polling. */
  streamError: string | null;
}

interface Summary extends ServiceKey {
  /** The conftool pool: cluster and service. */
  cluster: string;
  service: string;
  revision: number | null;
}

type Entry = ServiceInputs & { revision: number | null };

/** A `pool` event's detail, kept until applied, with the event's id (for messages). */
interface InlineDetail {
  detail: unknown;
  id: string | undefined;
}

class NotFound extends StoreError {}

const HELLO_RE = /^poold events, last id (\d+)(?:, epoch ([0-9a-zA-Z]+))?/;

export class PooldSource implements AgentSource {
  readonly kind = 'poold';
  private readonly base: string;
  private readonly entries = new Map<string, Entry>();
  private ok = false;
  private error: string | undefined;
  private stopped = false;
  private onChange: (services: string[]) => void = () => undefined;

  // All fetching goes through one queue, so a pool's answers are applied in the order they were asked.
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Polls without a stream; every fullEvery-th is a full round (the first is full through needFull). */
  private polls = 1;
  /** The snapshot cannot be trusted piecewise: the next poll fetches every pool. */
  private needFull = true;
  /**
   * Pools asked for by events and not yet applied, with the detail the latest event carried
   * (undefined: none, fetch it). Stream order is poold's publish order, so the last one is the newest.
   */
  private readonly dirty = new Map<string, InlineDetail | undefined>();
  private dirtyQueued = false;
  /** Changed while unhealthy: reported together once the source is healthy again. */
  private readonly unannounced = new Set<string>();

  private pollTimer: NodeJS.Timeout | undefined;
  private stream: { close(): void } | undefined;
  private streamUp = false;
  private streamTimer: NodeJS.Timeout | undefined;
  private streamDelay: number;
  /** Whether the stream being opened sent Last-Event-ID (so its replay may make a full fetch unneeded). */
  private resuming = false;
  private sawHello = false;
  /** Whether the stream being opened asked for details. */
  private askedDetail = false;
  /** Whether the stream being opened asked for its services only. */
  private askedServices = false;
  /**
   * poold refused the stream's parameters (400, an older poold): the next open (only) leaves out the
   * newest first. 1: without `services=`; 2: without `services=` and `detail=1`.
   */
  private downgradeOnce: 0 | 1 | 2 = 0;
  private firstOutcome: (() => void) | undefined;
  private readonly d: PooldSourceDetail = {
    mode: 'poll', lastEventId: null, epoch: null, streamOpens: 0, resumes: 0, fullFetches: 0, poolFetches: 0, streamError: null,
    inlineApplied: 0, inlineRejected: 0, inlineStale: 0, detailRefused: 0, servicesRefused: 0, inlineError: null,
  };

  constructor(private readonly opts: PooldSourceOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.streamDelay = opts.streamRetryMs ?? 500;
  }

  async start(onChange: (services: string[]) => void): Promise<void> {
    this.onChange = onChange;
    if (this.opts.stream ?? true) {
      // Subscribe first, so nothing published between the listing and the subscription is lost.
      // Wait (briefly) for the stream's first word: the full fetch it asks for then serves as the
      // initial listing too.
      const first = new Promise<void>((resolve) => (this.firstOutcome = resolve));
      this.openStream();
      await Promise.race([first, new Promise((r) => setTimeout(r, this.opts.timeoutMs ?? 2000))]);
      this.firstOutcome = undefined;
    }
    // The stream's first line queued a full fetch: wait for it. Otherwise list now.
    if (this.sawHello) await this.serial(async () => undefined);
    else await this.poll();
    this.schedulePoll();
  }

  // ---- requests ----

  private async get(path: string): Promise<unknown> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 2000) });
    } catch (err) {
      throw new StoreError(`cannot reach poold at ${url}: ${errorMessage(err)}`, { url }, { cause: err });
    }
    const text = await res.text();
    if (res.status === 404) throw new NotFound(`poold ${url} answered 404: ${text.slice(0, 200)}`, { url, status: 404 });
    if (!res.ok) throw new StoreError(`poold ${url} answered ${res.status}: ${text.slice(0, 200)}`, { url, status: res.status });
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new StoreError(`poold ${url} did not answer JSON: ${errorMessage(err)}`, { url }, { cause: err });
    }
  }

  /** Runs `fn` after everything queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  /** Fetches one pool's detail → its entry. */
  private async fetchPool(key: ServiceKey, revision?: number | null): Promise<Entry> {
    const path = servicePath(key);
    const detail = await this.get(`/v1/pools/${path.split('/').map(encodeURIComponent).join('/')}`);
    const rev = revision !== undefined ? revision : revisionOf(detail);
    try {
      return entryOf(key, detail, `${this.base}/v1/pools/${path}`, rev);
    } catch (err) {
      return { revision: rev, problem: errorMessage(err) };
    }
  }

  /**
   * The entry from the detail a `pool` event carried, or undefined when the pool must be fetched
   * instead: no detail, one that does not decode (the same decoder as the fetched answer), or one
   * with a lower state revision than the entry known (a stale detail never wins over a newer one;
   * equal passes, as a definition change keeps the state revision).
   */
  private inlineEntry(key: ServiceKey, path: string, detail: unknown, eventId: string | undefined): Entry | undefined {
    if (detail === undefined) return undefined;
    const rev = revisionOf(detail);
    let entry: Entry;
    try {
      entry = entryOf(key, detail, `${this.base}/v1/events id ${eventId ?? '?'} detail of ${path}`, rev);
    } catch (err) {
      this.d.inlineRejected++;
      this.d.inlineError = errorMessage(err);
      return undefined;
    }
    const known = this.entries.get(path);
    if (known && known.revision !== null && (rev === null || rev < known.revision)) {
      this.d.inlineStale++;
      this.d.inlineError = `event ${eventId ?? '?'}: detail of ${path} at state revision ${rev}, older than the known ${known.revision}`;
      return undefined;
    }
    this.d.inlineApplied++;
    return entry;
  }

  /** Stores an entry; true when it differs from what was known. */
  private store(path: string, entry: Entry): boolean {
    const known = this.entries.get(path);
    if (known && JSON.stringify(known) === JSON.stringify(entry)) return false;
    this.entries.set(path, entry);
    return true;
  }

  private failed(err: unknown): void {
    this.ok = false;
    this.error = errorMessage(err);
  }

  /** Reports changes; while unhealthy they wait for the round that makes the source healthy again. */
  private announce(changed: string[], becameHealthy: boolean): void {
    if (!this.ok) {
      for (const p of changed) this.unannounced.add(p);
      return;
    }
    const all = [...new Set([...this.unannounced, ...changed])];
    this.unannounced.clear();
    // After an outage, reconcile even without changes (an empty list means "re-read the table").
    if (all.length > 0 || becameHealthy) this.onChange(all);
  }

  // ---- polling (the fallback, the initial listing, and full re-fetches) ----

  /** One round, queued after any fetch in progress. Resolves to whether it succeeded. */
  private poll(): Promise<boolean> {
    return this.serial(() => this.pollOnce());
  }

  private async pollOnce(): Promise<boolean> {
    // With the stream up, definition changes come as events too: no need for the periodic full round.
    const full = this.needFull || (!this.streamUp && this.polls++ % (this.opts.fullEvery ?? 10) === 0);
    this.needFull = false;
    try {
      const list = (await this.get('/v1/pools')) as { pools?: Summary[] };
      if (!Array.isArray(list.pools)) throw new StoreError(`poold ${this.base}/v1/pools: no "pools" array`, {});
      if (full) this.d.fullFetches++;
      const changed: string[] = [];
      for (const p of list.pools) {
        const path = servicePath(p);
        if (!this.opts.filter(path)) continue;
        const known = this.entries.get(path);
        if (!full && known && known.revision === p.revision && p.revision !== null) continue;
        let entry: Entry;
        try {
          entry = await this.fetchPool(p, p.revision);
        } catch (err) {
          if (err instanceof NotFound) continue; // removed since the listing: keep what we had
          throw err;
        }
        this.dirty.delete(path);
        if (this.store(path, entry)) changed.push(path);
      }
      // A pool poold no longer lists keeps its last known inputs: fail static, never empty.
      const reconnected = !this.ok;
      this.ok = true;
      this.error = undefined;
      this.announce(changed, reconnected);
      return true;
    } catch (err) {
      if (full) this.needFull = true;
      this.failed(err);
      return false;
    }
  }

  private schedulePoll(delayMs?: number): void {
    if (this.stopped) return;
    clearTimeout(this.pollTimer);
    const ms = delayMs ?? (this.streamUp ? (this.opts.resyncMs ?? 60_000) : (this.opts.pollMs ?? 1000));
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      // A resync with the stream up fetches everything; polling without one compares revisions.
      if (this.streamUp) this.needFull = true;
      void this.poll().finally(() => {
        if (!this.pollTimer) this.schedulePoll();
      });
    }, ms);
  }

  // ---- the event stream ----

  private openStream(): void {
    if (this.stopped) return;
    const url = new URL(`${this.base}/v1/events`);
    url.searchParams.set('types', 'pool');
    const last = this.d.lastEventId;
    this.resuming = last !== null;
    // Without an id to resume from, the full fetch that follows the stream's first line is the catch-up.
    if (last === null) url.searchParams.set('replay', '0');
    const services = this.opts.services ?? [];
    this.askedServices = services.length > 0 && this.downgradeOnce === 0;
    this.askedDetail = (this.opts.inlineDetail ?? true) && this.downgradeOnce < 2;
    this.downgradeOnce = 0;
    if (this.askedDetail) url.searchParams.set('detail', '1');
    if (this.askedServices) url.searchParams.set('services', services.join(','));
    this.sawHello = false;
    this.stream = openSse(
      {
        url,
        headers: last !== null ? { 'last-event-id': last } : {},
        connectTimeoutMs: this.opts.timeoutMs ?? 2000,
        idleMs: this.opts.streamIdleMs ?? 45_000,
      },
      {
        open: () => this.onStreamOpen(),
        comment: (text) => this.onComment(text),
        record: (r) => this.onRecord(r),
        end: (why) => this.onStreamEnd(why),
      },
    );
  }

  private onStreamOpen(): void {
    this.streamUp = true;
    this.d.mode = 'stream';
    this.d.streamOpens++;
    this.d.streamError = null;
    this.streamDelay = this.opts.streamRetryMs ?? 500;
    this.schedulePoll(); // from now on only the (slow) resync
  }

  /** poold's first line: `poold events, last id N, epoch E`. Decides between resuming and a full fetch. */
  private onComment(text: string): void {
    if (this.sawHello) return; // heartbeats
    const m = HELLO_RE.exec(text);
    if (!m) return;
    this.sawHello = true;
    const epoch = m[2] ?? null;
    const sameProcess = epoch !== null && epoch === this.d.epoch;
    this.d.epoch = epoch;
    const resumed = this.resuming && sameProcess;
    // poold subscribed us before writing this line: everything after id N reaches us. Remember N, so
    // a later reconnect can resume even if no pool event came meanwhile.
    if (!resumed) this.d.lastEventId = m[1]!;
    if (resumed) {
      // The replay follows this line (poold writes both at once). Once the pools it names are
      // fetched the snapshot is current again, even if polls failed while the stream was down.
      this.d.resumes++;
      setImmediate(() => {
        void this.serial(async () => {
          if (this.ok || this.needFull || !this.streamUp) return;
          this.ok = true;
          this.error = undefined;
          this.announce([], true);
        });
      });
    } else {
      // First stream, or poold restarted (its ids started over): nothing can be replayed reliably.
      this.needFull = true;
      void this.poll();
    }
    this.firstOutcome?.();
  }

  private onRecord(r: SseRecord): void {
    if (r.id !== undefined) this.d.lastEventId = r.id;
    if (r.event === 'gap') {
      // Events we missed were evicted from poold's buffer: only a full fetch catches up.
      this.needFull = true;
      void this.poll();
      return;
    }
    if (r.event !== 'pool') return;
    let key: ServiceKey;
    let detail: unknown;
    try {
      const e = JSON.parse(r.data) as { pool?: Partial<ServiceKey>; detail?: unknown };
      if (typeof e.pool?.dc !== 'string' || typeof e.pool.name !== 'string') throw new Error('no LVS service in the event');
      key = { dc: e.pool.dc, name: e.pool.name };
      // Decoded (and checked against this key) when applied, in fetchDirty.
      detail = e.detail;
    } catch (err) {
      // Not understood: do not guess which pool it was; fetch everything.
      this.error = `unreadable pool event ${r.id ?? ''}: ${errorMessage(err)}`;
      this.needFull = true;
      void this.poll();
      return;
    }
    const path = servicePath(key);
    if (!this.opts.filter(path)) return;
    // The newest event's detail replaces an older one's; one without a detail asks for a fetch.
    this.dirty.set(path, detail === undefined ? undefined : { detail, id: r.id });
    this.fetchDirty();
  }

  /**
   * Queues one round applying every pool events asked for (a burst of events costs one round): from
   * the detail the event carried, else fetched. Queued like every fetch, so a detail and a fetched
   * answer are applied in the order they were received or asked for.
   */
  private fetchDirty(): void {
    if (this.dirtyQueued) return;
    this.dirtyQueued = true;
    void this.serial(async () => {
      this.dirtyQueued = false;
      const items = [...this.dirty].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      this.dirty.clear();
      const changed: string[] = [];
      for (const [i, [path, carried]] of items.entries()) {
        const [dc, name] = path.split('/') as [string, string];
        const inline = carried === undefined ? undefined : this.inlineEntry({ dc, name }, path, carried.detail, carried.id);
        if (inline) {
          if (this.store(path, inline)) changed.push(path);
          continue;
        }
        try {
          this.d.poolFetches++;
          if (this.store(path, await this.fetchPool({ dc, name }))) changed.push(path);
        } catch (err) {
          if (err instanceof NotFound) continue; // gone from poold: keep its last known inputs
          // poold did not answer: unhealthy (table frozen) until a full round succeeds, which the
          // poll timer retries now and then every pollMs. The rest are fetched then (a detail that
          // arrived meanwhile is newer and kept).
          for (const [p] of items.slice(i)) if (!this.dirty.has(p)) this.dirty.set(p, undefined);
          this.needFull = true;
          this.failed(err);
          this.announce(changed, false);
          this.schedulePoll(this.opts.streamRetryMs ?? 500);
          return;
        }
      }
      // Unhealthy only because a poll failed (a timeout, say) while the stream stayed up: no event
      // was missed, and poold just answered, so the snapshot is current again.
      const recovered = !this.ok && this.streamUp && !this.needFull;
      if (recovered) {
        this.ok = true;
        this.error = undefined;
      }
      this.announce(changed, recovered);
    });
  }

  private onStreamEnd(why: SseEnd): void {
    this.stream = undefined;
    if (why.kind === 'status' && why.status === 400 && (this.askedServices || this.askedDetail) && !this.stopped) {
      // An older poold refuses a parameter it does not know. Reopen now without the newest one:
      // first `services=` (the events of every service come, and the filter here drops the others),
      // then `detail` (events then name pools, which are re-fetched). The next reconnection asks for
      // both again (poold may be upgraded).
      if (this.askedServices) {
        this.d.servicesRefused++;
        this.downgradeOnce = 1;
      } else {
        this.d.detailRefused++;
        this.d.inlineError = why.message;
        this.downgradeOnce = 2;
      }
      this.openStream();
      return;
    }
    const wasUp = this.streamUp;
    this.streamUp = false;
    this.d.mode = 'poll';
    this.d.streamError = why.message;
    this.firstOutcome?.();
    if (this.stopped) return;
    // Poll right away if the stream was carrying us; keep polling until it is back (without pushing
    // back a poll already due: failed stream retries must not starve the polls).
    if (wasUp) this.schedulePoll(0);
    else if (!this.pollTimer) this.schedulePoll();
    clearTimeout(this.streamTimer);
    const delay = this.streamDelay;
    this.streamDelay = Math.min(delay * 2, this.opts.streamRetryMaxMs ?? 30_000);
    this.streamTimer = setTimeout(() => {
      this.streamTimer = undefined;
      this.openStream();
    }, delay);
  }

  // ---- AgentSource ----

  healthy(): boolean {
    return this.ok;
  }

  async probe(): Promise<boolean> {
    return this.poll();
  }

  lastError(): string | undefined {
    return this.error;
  }

  snapshot(): ReadonlyMap<string, ServiceInputs> {
    return this.entries;
  }

  detail(): PooldSourceDetail {
    return { ...this.d };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.streamTimer);
    this.stream?.close();
    this.stream = undefined;
    this.streamUp = false;
    await Promise.allSettled([...this.inFlight]);
  }
}

/** A pool-detail body → its entry; throws (InvalidStoredValueError naming `where`) when it does not decode. */
function entryOf(key: ServiceKey, detail: unknown, where: string, revision: number | null): Entry {
  const { lvs, pool, state, addresses } = parsePoolDetail(detail, where, key);
  return { revision, state, ...(lvs ? { def: defFromApi(key, pool, lvs, addresses) } : {}) };
}

function revisionOf(detail: unknown): number | null {
  const r = typeof detail === 'object' && detail !== null ? (detail as { revision?: unknown }).revision : undefined;
  return typeof r === 'number' ? r : null;
}

/** The API carries the LVS definition and the addresses pools/ gives; hosts without one are resolved by the agent. */
function defFromApi(key: ServiceKey, pool: PoolRef, lvs: ServiceDef['lvs'], addresses: Record<string, string>): ServiceDef {
  const servers = Object.fromEntries(Object.entries(addresses).map(([h, address]) => [h, { weight: 0, address }]));
  return {
    dc: key.dc, name: key.name, catalog: key.name, pool, lvs,
    depoolThreshold: 0, checks: [], flapping: { transitions: 0, windowMs: 0 }, monitoring: {}, servers,
  };
}
