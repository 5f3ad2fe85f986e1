// etcd's request limits, and how every write of ours stays under them. etcd runs with its DEFAULT
// limits in production and in the tests (test/helpers/etcd.ts never raises them). What they mean,
// checked against a real etcd (3.4) in test/store/etcd-limits.test.ts:
//
// --max-txn-ops (default 128) caps EACH of a transaction's three lists on its own: 128 compares
//   with 128 success puts and 128 failure puts is accepted; 129 in any one list is refused with
//   "etcdserver: too many operations in txn request". So a guard compare per key, or the leader's
//   fence compare, does not eat into the 128 puts. A changed host costs two success ops (its put and
//   its audit record): at most 64 hosts per transaction.
// --max-request-bytes (default 1.5 MiB = 1572864) caps the request as etcd proposes it to raft (the
//   protobuf-encoded request plus a small header): one put with a 1572764-byte value passes, one
//   with 1572834 bytes is refused ("etcdserver: request is too large").
// A transaction may not put or delete the same key twice ("duplicate key given in txn request").
//
// We pack transactions to TXN_MAX_OPS per list and TXN_BUDGET_BYTES (1 MiB) by an estimate that
// over-counts (key + value + 64 bytes per op, where protobuf's framing costs well under 16), so a
// request we build stays a third below etcd's byte limit. Both adapters check every transaction
// against etcd's hard limits before sending it (checkTxnLimits), so a path that forgot to chunk
// fails at once with a typed error naming the sizes, instead of etcd's bare refusal.
import { compactList } from '../model/compact-list.js';
import { RequestTooLargeError } from './errors.js';
import { txnKeys, type Compare, type TxnOp, type TxnRequest } from './kv.js';

/** etcd's default --max-txn-ops: the most ops in each of compare, success and failure. */
export const ETCD_MAX_TXN_OPS = 128;
/** etcd's default --max-request-bytes (1.5 MiB). */
export const ETCD_MAX_REQUEST_BYTES = 1_572_864;
/** What we pack a transaction's lists to: etcd's limit now, a name of its own so it can be lowered alone. @alias */
export const TXN_MAX_OPS = ETCD_MAX_TXN_OPS;
/** What we pack a transaction's estimated size to: 1 MiB, a third under etcd's limit. */
export const TXN_BUDGET_BYTES = 1_048_576;
/** Estimated framing per op (field tags, lengths, lease, revision): protobuf needs well under 16. */
export const OP_OVERHEAD_BYTES = 64;
/** Estimated framing per request (raft header, member id, auth user and revision). */
export const REQUEST_OVERHEAD_BYTES = 1024;

const len = (s: string): number => Buffer.byteLength(s, 'utf8');

export function opBytes(op: TxnOp): number {
  return OP_OVERHEAD_BYTES + len(op.key) + (op.type === 'put' ? len(op.value) : 0);
}

export function compareBytes(c: Compare): number {
  return OP_OVERHEAD_BYTES + len(c.key) + (c.target === 'value' ? len(c.value) : 0);
}

/** The estimated size of a transaction as etcd counts it (an over-estimate). */
export function txnBytes(req: TxnRequest): number {
  let n = REQUEST_OVERHEAD_BYTES;
  for (const c of req.compare) n += compareBytes(c);
  for (const op of req.success) n += opBytes(op);
  for (const op of req.failure ?? []) n += opBytes(op);
  return n;
}

/**
 * Refuses (RequestTooLargeError) a transaction etcd would refuse with its default limits. Called by
 * both adapters before sending, so the error names the sizes and a few keys.
 */
export function checkTxnLimits(req: TxnRequest): void {
  const lists = { compare: req.compare.length, success: req.success.length, failure: req.failure?.length ?? 0 };
  const over = Object.entries(lists).filter(([, n]) => n > ETCD_MAX_TXN_OPS);
  const bytes = txnBytes(req);
  if (over.length === 0 && bytes <= ETCD_MAX_REQUEST_BYTES) return;
  const keys = txnKeys(req);
  const what = over.length > 0
    ? `${over.map(([l, n]) => `${n} ${l} operations`).join(' and ')} (etcd's --max-txn-ops is ${ETCD_MAX_TXN_OPS} per list)`
    : `about ${bytes} bytes (etcd's --max-request-bytes is ${ETCD_MAX_REQUEST_BYTES})`;
  throw new RequestTooLargeError(
    `refusing to send a transaction of ${what} over ${keys.length} key(s): ${compactList(keys)}; ` +
    (over.length === 0 && req.success.length + (req.failure?.length ?? 0) <= 1
      ? 'a single value this large cannot be stored in etcd'
      : 'the write must be split into smaller transactions'),
    { ...lists, bytes, keys });
}

/** What one item adds to a transaction. */
export interface TxnCost {
  compare: number;
  success: number;
  bytes: number;
}

export interface PackLimits {
  maxOps?: number;
  maxBytes?: number;
}

/**
 * Splits `items` (in order) into batches whose summed cost stays within the limits. An item that
 * alone exceeds them gets a batch of its own (its write then fails on its own, clearly).
 */
export function packByCost<T>(items: readonly T[], cost: (item: T) => TxnCost, limits: PackLimits = {}): T[][] {
  const maxOps = limits.maxOps ?? TXN_MAX_OPS;
  const maxBytes = limits.maxBytes ?? TXN_BUDGET_BYTES;
  const batches: T[][] = [];
  let cur: T[] = [];
  let c = 0;
  let s = 0;
  let b = REQUEST_OVERHEAD_BYTES;
  for (const item of items) {
    const k = cost(item);
    if (cur.length > 0 && (c + k.compare > maxOps || s + k.success > maxOps || b + k.bytes > maxBytes)) {
      batches.push(cur);
      cur = [];
      c = 0;
      s = 0;
      b = REQUEST_OVERHEAD_BYTES;
    }
    cur.push(item);
    c += k.compare;
    s += k.success;
    b += k.bytes;
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/** Puts and deletes without compares (observation re-publication, audit pruning) in bounded batches. */
export function packOps(ops: readonly TxnOp[], limits: PackLimits = {}): TxnOp[][] {
  return packByCost(ops, (op) => ({ compare: 0, success: 1, bytes: opBytes(op) }), limits);
}
