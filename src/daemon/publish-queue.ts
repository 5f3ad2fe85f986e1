// A keyed work queue for publishing to etcd, modelled on Kubernetes' client-go workqueue: handlers
// add keys (adding a key already queued does nothing: changes coalesce), one worker takes every
// ready key, asks `produce` for its write at that moment (so the newest value goes out), packs the
// writes into transactions within etcd's limits (store/limits.ts), and retries a failed key on its
// own exponential backoff (100 ms doubling to 5 s, jittered; ItemExponentialFailureRateLimiter).
//
// One bad key cannot stall the others: a key that failed once is written alone until it succeeds,
// so after a batch fails its keys are each retried alone; the healthy ones land at their first
// retry and rejoin the batches, and only the bad one keeps backing off.
//
// Keys are opaque strings (the leader uses a pool path; the write's etcd ops come from produce). A
// key's write is a few ops that must land together (a state's changed server keys and its header:
// store/state-layout.ts): they are never split over transactions, though several keys' writes share
// one. Ops that may land later (`after`: the leader's backfill of server keys under an inline header)
// go in their own transactions once the write has committed, in order, each key's after the other.
// An optional compare (the leader's fence) goes into every transaction; when it fails, that batch
// is dropped, not retried: whoever holds the fence now publishes.
import type { Compare, Kv, TxnOp } from '../store/kv.js';
import { compareBytes, opBytes, packByCost, packOps, TXN_BUDGET_BYTES, TXN_MAX_OPS } from '../store/limits.js';

/** A key's write. */
export interface Publication {
  /** The etcd key that names the write in messages (the leader's: the state's header). */
  etcdKey: string;
  /** Written in one transaction, in this order. */
  ops: TxnOp[];
  /** Written after `ops` have committed, in order, in as many transactions as they take. */
  after?: TxnOp[];
}

export interface PublishQueueOptions {
  kv: Kv;
  /** The write for a queued key, made when it is written; undefined: nothing to write (any more). */
  produce(key: string): Publication | undefined;
  /** Compared in every transaction; when false, the batch is not written and not retried. */
  fence?: Compare;
  onWritten?(key: string, p: Publication, revision: number): void;
  /** Some of a write's `after` ops committed at `revision` (called per transaction, in order). */
  onAfterWritten?(key: string, ops: readonly TxnOp[], revision: number): void;
  onFenced?(keys: string[]): void;
  /** A transaction failed; its keys are retried after their backoff (the shortest is `retryMs`). */
  onFailed?(keys: string[], err: unknown, retryMs: number): void;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Pack transactions to at most this (never above etcd's limits). */
  maxOps?: number;
  maxBytes?: number;
}

/** Transactions in flight at once: enough for a site's worth of states, few enough to stay gentle on etcd. */
const MAX_IN_FLIGHT = 4;

interface Item {
  key: string;
  p: Publication;
}

export class PublishQueue {
  /** Ready to write, in the order added. */
  private readonly ready = new Set<string>();
  /** Consecutive failures per key (present: written alone). */
  private readonly failures = new Map<string, number>();
  /** Keys waiting out their backoff. */
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private scheduled = false;
  private working = false;
  /** Bumped by clear(): a transaction in flight from before reports nothing. */
  private generation = 0;

  constructor(private readonly o: PublishQueueOptions) {}

  /** Queue `key` for writing. A key waiting out a backoff keeps waiting (then writes its newest value). */
  add(key: string): void {
    if (this.delayed.has(key)) return;
    this.ready.add(key);
    this.schedule();
  }

  /** Keys not yet written: ready, or waiting to retry. */
  get pending(): number {
    return this.ready.size + this.delayed.size;
  }

  /** Keys that failed and wait for their retry, with their failure counts. */
  get retrying(): ReadonlyMap<string, number> {
    return this.failures;
  }

  /** Forget everything (lost leadership); writes in flight are ignored when they return. */
  clear(): void {
    this.generation++;
    this.ready.clear();
    this.failures.clear();
    for (const t of this.delayed.values()) clearTimeout(t);
    this.delayed.clear();
  }

  /**
   * Write what is ready now instead of on the next turn of the event loop. For a caller that has just
   * queued everything of one batch (the leader at the end of its tick): the turn it saves is the other
   * I/O callbacks queued meanwhile, several ms on a busy instance. Does nothing while a round is under
   * way (that round takes the new keys next).
   */
  flush(): void {
    if (this.working || this.ready.size === 0) return;
    void this.work();
  }

  private schedule(): void {
    if (this.scheduled || this.working) return;
    this.scheduled = true;
    // Next turn of the event loop: every change of this tick goes out in the same transactions.
    setImmediate(() => {
      this.scheduled = false;
      // flush() may have started a round meanwhile; it takes every ready key.
      if (!this.working) void this.work();
    });
  }

  private async work(): Promise<void> {
    this.working = true;
    const gen = this.generation;
    try {
      while (this.ready.size > 0 && gen === this.generation) {
        const keys = [...this.ready];
        this.ready.clear();
        const items: Item[] = [];
        for (const key of keys) {
          let p: Publication | undefined;
          try {
            p = this.o.produce(key);
          } catch (err) {
            // A key whose write cannot even be made is retried like one etcd refused.
            this.o.onFailed?.([key], err, this.retryLater(key));
            continue;
          }
          if (p !== undefined) items.push({ key, p });
        }
        // Keys that failed before go alone: one bad key must not hold back the rest.
        const fresh = items.filter((i) => !this.failures.has(i.key));
        const suspect = items.filter((i) => this.failures.has(i.key)).map((i) => [i]);
        // The transactions of one round go out together (a few at a time): they touch distinct keys, and
        // at eqiad's size one kubesvc change is 1.7 MB in two transactions, the second of which used to
        // wait for the first. write() never rejects (it reports and retries), so one cannot stop the rest.
        const batches = [...packByCost(fresh, (i) => this.cost(i), this.limits()), ...suspect];
        const landed: Item[] = [];
        for (let i = 0; i < batches.length && gen === this.generation; i += MAX_IN_FLIGHT) {
          const done = await Promise.all(batches.slice(i, i + MAX_IN_FLIGHT).map((b) => this.write(b, gen)));
          for (const d of done) landed.push(...d);
        }
        // Then the backfills: one key's in order, a few keys at a time.
        const after = landed.filter((i) => (i.p.after?.length ?? 0) > 0);
        for (let i = 0; i < after.length && gen === this.generation; i += MAX_IN_FLIGHT) {
          await Promise.all(after.slice(i, i + MAX_IN_FLIGHT).map((item) => this.writeAfter(item, gen)));
        }
      }
    } finally {
      this.working = false;
      if (this.ready.size > 0) this.schedule();
    }
  }

  private limits() {
    // The fence compare is on its own list for the op count, but its bytes count with the puts'.
    const fenceBytes = this.o.fence === undefined ? 0 : compareBytes(this.o.fence);
    return {
      maxOps: Math.min(this.o.maxOps ?? TXN_MAX_OPS, TXN_MAX_OPS),
      maxBytes: Math.min(this.o.maxBytes ?? TXN_BUDGET_BYTES, TXN_BUDGET_BYTES) - fenceBytes,
    };
  }

  private cost(i: Item) {
    let bytes = 0;
    for (const op of i.p.ops) bytes += opBytes(op);
    return { compare: 0, success: i.p.ops.length, bytes };
  }

  /** Writes one transaction of whole items; returns the items that landed. */
  private async write(batch: Item[], gen: number): Promise<Item[]> {
    const fence = this.o.fence;
    let result;
    try {
      // The fence is one compare; etcd limits compares separately from puts (limits.ts).
      result = await this.o.kv.txn({ compare: fence ? [fence] : [], success: batch.flatMap((i) => i.p.ops) });
    } catch (err) {
      if (gen !== this.generation) return [];
      const delays = batch.map((i) => this.retryLater(i.key));
      this.o.onFailed?.(batch.map((i) => i.key), err, Math.min(...delays));
      return [];
    }
    if (gen !== this.generation) return [];
    if (!result.succeeded) {
      for (const i of batch) this.failures.delete(i.key);
      this.o.onFenced?.(batch.map((i) => i.key));
      return [];
    }
    for (const i of batch) {
      this.failures.delete(i.key);
      this.o.onWritten?.(i.key, i.p, result.revision);
    }
    return batch;
  }

  /**
   * An item's `after` ops, packed in order; stops at the first transaction that fails (the key is then
   * produced again on its backoff: the producer knows from onAfterWritten what landed).
   */
  private async writeAfter(item: Item, gen: number): Promise<void> {
    const fence = this.o.fence;
    for (const ops of afterTxns(item.p.after ?? [], this.limits())) {
      if (gen !== this.generation) return;
      let result;
      try {
        result = await this.o.kv.txn({ compare: fence ? [fence] : [], success: ops });
      } catch (err) {
        if (gen !== this.generation) return;
        this.o.onFailed?.([item.key], err, this.retryLater(item.key));
        return;
      }
      if (gen !== this.generation) return;
      if (!result.succeeded) {
        this.o.onFenced?.([item.key]);
        return;
      }
      this.o.onAfterWritten?.(item.key, ops, result.revision);
    }
  }

  private retryLater(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const base = this.o.baseDelayMs ?? 100;
    const max = this.o.maxDelayMs ?? 5000;
    // ±20 % jitter, so keys that failed together do not retry in lockstep.
    const delay = Math.round(Math.min(base * 2 ** (n - 1), max) * (0.8 + Math.random() * 0.4));
    const t = setTimeout(() => {
      this.delayed.delete(key);
      this.ready.add(key);
      this.schedule();
    }, delay);
    this.delayed.set(key, t);
    return delay;
  }
}

/**
 * `after` in transactions, in order. A prefix delete goes alone: etcd refuses a transaction that puts
 * a key inside a range it also deletes.
 */
function afterTxns(ops: readonly TxnOp[], limits: { maxOps: number; maxBytes: number }): TxnOp[][] {
  const out: TxnOp[][] = [];
  let run: TxnOp[] = [];
  for (const op of ops) {
    if (op.type === 'delete' && op.prefix === true) {
      out.push(...packOps(run, limits), [op]);
      run = [];
    } else {
      run.push(op);
    }
  }
  out.push(...packOps(run, limits));
  return out;
}
