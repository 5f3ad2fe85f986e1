// The v2 bridge: keeps conftool's pools (`<conftool>/pools/...`) identical in etcd's v2 and v3
// keyspaces, both ways, until the site drops v2 (Wikimedia's T350565 plan: dual write during the
// migration). conftool 3.x (python-etcd) and PyBal's `config = etcd://` read and write only v2;
// poold and poolctl use v3; etcd 3.4/3.5 serve both (`--enable-v2`) but keep them apart.
//
// Design (README: "Migration from conftool: the v2 bridge"):
//   - Level-triggered, per key. Watch events of either side (and a full listing at start, after
//     v2's 401 "index cleared", after a v3 compaction, and every `resyncMs`) only say "look at key
//     K"; reconcile(K) reads K in v2, in v3 and its BASE, decides (bridge-v2-merge.ts), writes, and
//     on any lost compare-and-swap re-reads and re-decides. Reconciles of one key never overlap.
//   - Loops cannot happen: the bridge writes a side only when its bytes differ from the decided
//     target, and the decision for two identical sides is "nothing". Its own writes come back as
//     events, find both sides equal, and stop there.
//   - No lost update: v2 writes are compare-and-swap on the node's modifiedIndex (`prevIndex`;
//     `prevExist=false` to create), v3 writes compare the key's and its base's mod_revision.
//   - The base is the value both sides last agreed on, kept in v3 (`<poold>/bridge-v2/base<key>`)
//     so it survives restarts and leader changes; with it, a change on one side is told apart from
//     a stale other side, a delete from a create, and two concurrent changes are merged field by
//     field (the authoritative side, v2 by default, wins a field both changed).
//   - Write order: v3 first (its value and base in one transaction), then v2. When v2 must be
//     written, the base is first set to v2's value as read, then v2 is compare-and-swapped, then
//     the base moves to the target. A crash or a lost race between those steps leaves a base from
//     which the next reconcile computes the same changes again (see the README for the one window,
//     a crash right after the v2 write, in which a field changed again in v3 goes to the authority).
//   - Directory nodes: v2 creates parent directories with every write; the bridge also creates
//     `<conftool>/pools` itself at start, so confctl finds a directory even before the first host.
//     Directories left empty by deletes stay (conftool leaves them too).
//   - Every v3 change it makes carries an audit record (actor `conftool-v2-bridge`).
// It mirrors the conftool prefix only and knows nothing of poold's services.
import { StoreError } from '../model/errors.js';
import { auditOps, auditValue } from './audit.js';
import { decide, type BridgeSide } from './bridge-v2-merge.js';
import type { Keys } from './keys.js';
import type { Compare, KvEntry, TxnOp } from './kv.js';
import type { Etcd3Kv } from './kv-etcd3.js';
import { V2CompareFailedError, V2KeyNotFoundError, V2NodeExistsError, V2NotADirError, V2NotAFileError } from './v2-errors.js';
import { v2Dir, type V2Client, type V2Leaf, type V2Listing, type V2Response } from './v2-client.js';
import { KeyQueue } from './key-queue.js';
import { V2DirWatch } from './v2-watch.js';
import { listThenWatch, type ListWatch } from './watch.js';

export const BRIDGE_ACTOR = 'conftool-v2-bridge';

/** The subset of pino's logger the bridge uses (the store layer does not import pino). */
export interface BridgeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BridgeOptions {
  v2: V2Client;
  kv: Etcd3Kv;
  keys: Keys;
  /** The side that wins a field both sides changed concurrently (default 'v2'). */
  authority?: BridgeSide;
  log: BridgeLog;
  /** Full listing of both sides this often, as a safety net under the watches (default 60 s). */
  resyncMs?: number;
  /** Reconciles running at once (default 8). */
  concurrency?: number;
  /**
   * A change seen in v2 is reconciled this long after its event (default 100 ms). poolctl
   * --conftool-v2 writes v3 itself right after its v2 compare-and-swap, with the audit record at
   * the same v3 revision (write-v2.ts); the pause lets that write land first, so poold can name
   * who and why. Correctness never depends on it: whoever writes v3 first, the other finds the
   * sides equal (or its guard fails and it re-reads).
   */
  v2SettleMs?: number;
  now?: () => number;
}

/** Counters, for metrics and for tests that prove the bridge's own writes do not bounce. */
export interface BridgeStats {
  /** Conftool keys written (put or delete) in v2 / in v3 by the bridge. */
  v2Writes: number;
  v3Writes: number;
  /** Reconciles that found both sides already identical (the echo of a write, or a resync). */
  inSync: number;
  /** Decisions that merged concurrent changes of both sides (or let the authority win). */
  merges: number;
  /** Compare-and-swap writes lost to a concurrent writer (then re-read and re-decided). */
  lostRaces: number;
  /** Full listings of both sides. */
  resyncs: number;
  /** Reconciles that failed on an etcd error (retried). */
  errors: number;
}

function backoff(attempt: number): Promise<void> {
  const cap = Math.min(200, 2 ** attempt);
  return new Promise((r) => setTimeout(r, Math.random() * cap));
}

export class ConftoolV2Bridge {
  readonly stats: BridgeStats = { v2Writes: 0, v3Writes: 0, inSync: 0, merges: 0, lostRaces: 0, resyncs: 0, errors: 0 };
  readonly authority: BridgeSide;
  /** `<conftool>/pools/` (v3 prefix) and `<conftool>/pools` (v2 directory). */
  readonly prefix: string;
  readonly dir: string;
  private readonly basePrefix: string;
  private stopped = false;
  private v2Watch: V2DirWatch | undefined;
  private v3Watch: ListWatch | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly queue: KeyQueue;
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly unmirrorable = new Set<string>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: BridgeOptions) {
    this.authority = o.authority ?? 'v2';
    this.prefix = o.keys.poolsPrefix();
    this.dir = v2Dir(this.prefix);
    this.basePrefix = `${o.keys.roots.poold}/bridge-v2/base`;
    this.queue = new KeyQueue((key) => this.reconcileLogged(key), { concurrency: o.concurrency ?? 8, onIdle: () => this.checkIdle() });
  }

  /** Where the agreed value of conftool key `key` is kept (in v3). */
  baseKey(key: string): string {
    return this.basePrefix + key;
  }

  /**
   * Creates the v2 directory, starts both watches (each lists first, which triggers a full
   * reconcile) and the periodic resync. Throws when v2 is not served (etcd without --enable-v2).
   */
  async start(): Promise<void> {
    if ((await this.o.v2.mkdir(this.dir)) === 'created') this.o.log.info({ dir: this.dir }, 'v2 bridge: created the conftool pools directory in etcd v2');
    this.v3Watch = await listThenWatch(this.o.kv, this.prefix, {
      onList: () => this.requestResync(),
      onEvents: (evs) => {
        for (const e of evs) this.schedule(e.key);
      },
      onError: (err) => {
        this.o.log.error({ err: err.message, prefix: this.prefix }, 'v2 bridge: v3 watch stopped; relying on the periodic resync');
      },
      onConnection: (state) => {
        if (state === 'connected') this.requestResync();
      },
    });
    this.v2Watch = new V2DirWatch(this.o.v2, this.dir, {
      onList: () => this.requestResync(),
      onEvent: (ev) => this.v2Event(ev),
      onConnection: (state, err) => {
        if (state === 'disconnected') this.o.log.warn({ err: (err as Error)?.message }, 'v2 bridge: lost the v2 watch; retrying');
      },
    });
    this.v2Watch.start();
    const every = this.o.resyncMs ?? 60_000;
    this.resyncTimer = setInterval(() => this.requestResync(), every);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.queue.stop();
    await Promise.all([this.v2Watch?.stop(), this.v3Watch?.stop()]);
    await this.idle();
  }

  /** Resolves once no reconcile or resync is queued or running. */
  idle(): Promise<void> {
    if (this.queue.size === 0 && this.resyncing === undefined) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private checkIdle(): void {
    if (this.queue.size !== 0 || this.resyncing !== undefined) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private v2Event(ev: V2Response): void {
    // A directory event (created, deleted recursively, expired) may stand for many leaves.
    if (ev.node.dir === true || ev.prevNode?.dir === true) this.requestResync();
    else this.schedule(ev.node.key, this.o.v2SettleMs ?? 100);
  }

  /** A key the bridge can mirror: below the prefix, no empty segment, no v2-hidden (`_`) segment. */
  private mirrorable(key: string): boolean {
    if (!key.startsWith(this.prefix)) return false;
    const segs = key.slice(this.prefix.length).split('/');
    return segs.every((s) => s !== '' && !s.startsWith('_'));
  }

  // ---- full resync: one listing of each side, then reconcile only the keys that differ ----

  /** Coalesced: at most one resync runs, and one more follows if asked for meanwhile. */
  requestResync(): void {
    if (this.stopped) return;
    if (this.resyncing !== undefined) {
      this.resyncAgain = true;
      return;
    }
    this.resyncing = this.resync()
      .catch((err: unknown) => {
        this.stats.errors++;
        this.o.log.warn({ err: (err as Error).message }, 'v2 bridge: full resync failed; retrying');
        this.retryLater(() => this.requestResync(), 1000);
      })
      .finally(() => {
        this.resyncing = undefined;
        if (this.resyncAgain && !this.stopped) {
          this.resyncAgain = false;
          this.requestResync();
        }
        this.checkIdle();
      });
  }

  private async resync(): Promise<void> {
    const [l2, r3, rb] = await Promise.all([
      this.o.v2.list(this.dir, { quorum: true }) as Promise<V2Listing>,
      this.o.kv.range({ key: this.prefix, prefix: true }),
      this.o.kv.range({ key: this.basePrefix + this.prefix, prefix: true }),
    ]);
    this.stats.resyncs++;
    if (!l2.exists) await this.o.v2.mkdir(this.dir);
    const v2 = new Map(l2.leaves.map((l) => [l.key, l.value]));
    const v3 = new Map(r3.kvs.map((e) => [e.key, e.value]));
    const base = new Map(rb.kvs.map((e) => [e.key.slice(this.basePrefix.length), e.value]));
    for (const key of new Set([...v2.keys(), ...v3.keys(), ...base.keys()])) {
      if (!this.mirrorable(key)) {
        this.warnUnmirrorable(key, 'its name cannot be a v2 key (empty segment, or a segment starting with "_", which v2 hides)');
        continue;
      }
      const a = v2.get(key);
      if (a === v3.get(key) && a === base.get(key)) continue;
      this.schedule(key);
    }
  }

  private warnUnmirrorable(key: string, why: string): void {
    if (this.unmirrorable.has(key)) return;
    this.unmirrorable.add(key);
    this.o.log.error({ key }, `v2 bridge: cannot mirror ${key}: ${why}; fix or delete it`);
  }

  // ---- per-key reconcile (KeyQueue: never two at once for one key, `concurrency` overall) ----

  /** Reconciles `key` after `delayMs` (a key already queued is reconciled once more after its current run). */
  schedule(key: string, delayMs = 0): void {
    if (this.stopped || !this.mirrorable(key)) return;
    this.queue.schedule(key, delayMs);
  }

  /** The queue's job: reconcile, and deal with failures here (log, report, retry). */
  private async reconcileLogged(key: string): Promise<void> {
    try {
      await this.reconcile(key);
      this.unmirrorable.delete(key);
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof V2NotADirError || err instanceof V2NotAFileError) {
        // A v3 key where v2 has a directory, or below a v2 value: v2 cannot hold both.
        this.warnUnmirrorable(key, `v2 has a ${err instanceof V2NotAFileError ? 'directory' : 'value'} in the way (${err.message})`);
        return;
      }
      this.stats.errors++;
      this.o.log.warn({ key, err: (err as Error).message }, 'v2 bridge: reconcile failed; retrying in 1 s');
      this.retryLater(() => this.schedule(key), 1000);
    }
  }

  private retryLater(fn: () => void, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.retryTimers.add(t);
  }

  private baseOp(bkey: string, value: string | undefined): TxnOp {
    return value === undefined ? { type: 'delete', key: bkey } : { type: 'put', key: bkey, value };
  }

  private async readAll(key: string): Promise<[V2Leaf | undefined, KvEntry | undefined, KvEntry | undefined]> {
    return Promise.all([this.o.v2.getLeaf(key, { quorum: true }), this.o.kv.get(key), this.o.kv.get(this.baseKey(key))]);
  }

  /**
   * Brings `key` to the same bytes on both sides (or absent on both). Re-reads and re-decides
   * after every lost compare-and-swap; gives up (StoreError, retried by the caller) after 64.
   */
  async reconcile(key: string): Promise<void> {
    const bkey = this.baseKey(key);
    for (let attempt = 1; attempt <= 64; attempt++) {
      if (this.stopped) return;
      const [leaf, e3, eb] = await this.readAll(key);
      const v2 = leaf?.value;
      const v3 = e3?.value;
      const base = eb?.value;
      const d = decide(base, v2, v3, this.authority);
      const target = d.target;
      // Both guards: the conftool key as read, and the base as read (a second bridge during a
      // leader change cannot interleave its base with ours).
      const guard: Compare[] = [
        { key, target: 'mod', op: '==', value: e3?.modRevision ?? 0 },
        { key: bkey, target: 'mod', op: '==', value: eb?.modRevision ?? 0 },
      ];
      if (v2 === target && v3 === target) {
        this.stats.inSync++;
        if (base === target) return;
        const r = await this.o.kv.txn({ compare: guard, success: [this.baseOp(bkey, target)] });
        if (r.succeeded) return;
        this.stats.lostRaces++;
        await backoff(attempt);
        continue;
      }
      if (d.reason === 'merged' || d.reason === 'authority') {
        this.stats.merges++;
        this.o.log.warn({ key, v2, v3, base, result: target ?? null, conflicts: d.conflicts, authority: this.authority },
          'v2 bridge: concurrent changes in v2 and v3 merged');
      }
      let baseRevision = eb?.modRevision ?? 0;
      if (v3 !== target) {
        // v3 first, value and base in one transaction. While v2 still has to be written, the base
        // is v2's value as read: v3's changes then still count as changes against it.
        const newBase = v2 === target ? target : v2;
        const reason = d.reason === 'v2-changed' ? 'changed in etcd v2 (conftool), copied to v3'
          : `concurrent changes in etcd v2 and v3 merged${d.conflicts.length > 0 ? `; ${this.authority} won ${d.conflicts.join(', ')}` : ''}`;
        const r = await this.o.kv.txn({
          compare: guard,
          success: [
            target === undefined ? { type: 'delete', key } : { type: 'put', key, value: target },
            this.baseOp(bkey, newBase),
            ...auditOps(this.o.keys, { actor: BRIDGE_ACTOR, reason }, (this.o.now ?? Date.now)(),
              [{ key, before: auditValue(v3), after: auditValue(target) }]),
          ],
        });
        if (!r.succeeded) {
          this.stats.lostRaces++;
          await backoff(attempt);
          continue;
        }
        this.stats.v3Writes++;
        if (v2 === target) return;
        baseRevision = newBase === undefined ? 0 : r.revision;
      } else if (base !== v2) {
        // Only v2 to write: first make the base v2's value as read (see above), then v2.
        const r = await this.o.kv.txn({ compare: guard, success: [this.baseOp(bkey, v2)] });
        if (!r.succeeded) {
          this.stats.lostRaces++;
          await backoff(attempt);
          continue;
        }
        baseRevision = v2 === undefined ? 0 : r.revision;
      }
      try {
        if (target === undefined) await this.o.v2.delete(key, { prevIndex: leaf!.modifiedIndex });
        else if (leaf === undefined) await this.o.v2.set(key, target, { prevExist: false });
        else await this.o.v2.set(key, target, { prevIndex: leaf.modifiedIndex });
      } catch (err) {
        if (err instanceof V2CompareFailedError || err instanceof V2NodeExistsError || err instanceof V2KeyNotFoundError) {
          this.stats.lostRaces++;
          await backoff(attempt);
          continue;
        }
        throw err;
      }
      this.stats.v2Writes++;
      // Both sides now agree on `target` (v3 may have moved on since, but from `target`).
      await this.o.kv.txn({ compare: [{ key: bkey, target: 'mod', op: '==', value: baseRevision }], success: [this.baseOp(bkey, target)] });
      return;
    }
    throw new StoreError(`v2 bridge: gave up reconciling ${key} after 64 lost races with concurrent writers; will retry`, { key });
  }
}
