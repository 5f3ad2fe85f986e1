// Maps etcd's error messages (identical text over gRPC and over the JSON gateway) to typed errors
// that say what was refused, for which key(s) and which user, and how to fix it.
import { compactList } from '../model/compact-list.js';
import { StoreError } from '../model/errors.js';
import { AuthenticationError, CompactedError, NoSpaceError, PermissionDeniedError, RequestTooLargeError } from './errors.js';
import { ETCD_MAX_REQUEST_BYTES, ETCD_MAX_TXN_OPS } from './limits.js';

export interface ErrorScope {
  op: string;
  keys: string[];
  user: string | undefined;
  endpoint: string;
  /** The revision a read or watch asked for, for compaction errors. */
  revision?: number;
}

/** The keys of a request, compactly (a transaction may hold hundreds; context.keys has them all). */
function keyList(keys: string[]): string {
  return keys.length === 1 ? keys[0] : `one of ${compactList(keys)}`;
}

export function mapEtcdError(message: string, scope: ErrorScope, cause?: unknown): StoreError {
  const ctx = { op: scope.op, keys: scope.keys, user: scope.user, endpoint: scope.endpoint };
  if (/permission denied/i.test(message)) {
    const who = scope.user === undefined ? 'this client (no etcd user)' : `etcd user "${scope.user}"`;
    return new PermissionDeniedError(
      `permission denied: ${who} may not ${scope.op} ${keyList(scope.keys)}; ` +
      'ask an etcd admin to grant the role this prefix, or use credentials that have it', ctx, { cause });
  }
  if (/authentication is not enabled/i.test(message)) {
    return new AuthenticationError(
      `etcd at ${scope.endpoint} has authentication disabled, but an etcd user ("${scope.user}") was configured; ` +
      'drop --etcd-user/POOLD_ETCD_USER or enable auth on etcd', ctx, { cause });
  }
  if (/user name is empty|authentication failed|invalid auth token|auth: revision/i.test(message)) {
    return new AuthenticationError(
      `etcd authentication failed at ${scope.endpoint}: ${message}; ` +
      'check --etcd-user/--etcd-password (or POOLD_ETCD_USER/POOLD_ETCD_PASSWORD)', ctx, { cause });
  }
  if (/CommonName of client sending a request against gateway/i.test(message)) {
    return new StoreError(
      `etcd at ${scope.endpoint} refuses a client certificate with a CommonName on its JSON gateway, which poolctl uses; ` +
      'use a client certificate without CN (etcd users then come from --etcd-user), or no client certificate', ctx, { cause });
  }
  if (/required revision has been compacted/i.test(message)) {
    return new CompactedError(
      `revision ${scope.revision ?? '?'} of ${keyList(scope.keys)} was compacted away; re-list and watch again`,
      scope.revision ?? 0, undefined);
  }
  if (/database space exceeded/i.test(message)) {
    return new NoSpaceError(
      `etcd at ${scope.endpoint} refused a ${scope.op} of ${keyList(scope.keys)}: ${message} (NOSPACE alarm); every write fails until ` +
      'etcd is compacted, defragmented and the alarm disarmed (etcdctl compact, etcdctl defrag, etcdctl alarm disarm)', ctx, { cause });
  }
  if (/too many operations in txn request|request is too large/i.test(message)) {
    // checkTxnLimits refuses these before sending; reaching here means etcd runs with lower limits.
    return new RequestTooLargeError(
      `etcd refused a ${scope.op} of ${scope.keys.length} key(s) (${keyList(scope.keys)}) at ${scope.endpoint}: ${message}; ` +
      `poold keeps requests under etcd's default limits (--max-txn-ops ${ETCD_MAX_TXN_OPS}, --max-request-bytes ${ETCD_MAX_REQUEST_BYTES}): ` +
      'do not run etcd with lower ones', ctx, { cause });
  }
  return new StoreError(`etcd ${scope.op} of ${keyList(scope.keys)} failed at ${scope.endpoint}: ${message}`, ctx, { cause });
}
