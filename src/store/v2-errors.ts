// Typed errors of etcd's v2 keys API (conftool 3.x and PyBal's `etcd://` speak only v2). etcd
// answers a refused v2 request with `{"errorCode": N, "message": ..., "cause": ..., "index": I}`;
// the codes callers act on get their own class, so a CAS loop can catch exactly "compare failed"
// and a watch exactly "index cleared", and nothing else by accident. All are StoreError (exit 1).
import { StoreError } from '../model/errors.js';
import { PermissionDeniedError } from './errors.js';

/** Any refusal by etcd's v2 API. `errorCode` is etcd's, `index` the store index it answered at. */
export class V2Error extends StoreError {
  constructor(message: string, readonly errorCode: number, readonly index: number, context: Record<string, unknown> = {}) {
    super(message, { ...context, errorCode, index });
  }
}

/** 100: the key does not exist. */
export class V2KeyNotFoundError extends V2Error {}
/** 101: prevIndex/prevValue did not match: someone wrote the key since it was read. Re-read and re-decide. */
export class V2CompareFailedError extends V2Error {}
/** 102: the operation needs a file (a leaf) but the key is a directory. */
export class V2NotAFileError extends V2Error {}
/** 104: the operation needs a directory but the key (or a parent of it) is a file. */
export class V2NotADirError extends V2Error {}
/** 105: prevExist=false but the key exists. */
export class V2NodeExistsError extends V2Error {}
/** 401: a watch asked for an index older than etcd's v2 event history (1000 events): re-list, then watch again. */
export class V2IndexClearedError extends V2Error {}

const BY_CODE: Record<number, new (m: string, c: number, i: number, ctx?: Record<string, unknown>) => V2Error> = {
  100: V2KeyNotFoundError,
  101: V2CompareFailedError,
  102: V2NotAFileError,
  104: V2NotADirError,
  105: V2NodeExistsError,
  401: V2IndexClearedError,
};

/** etcd's v2 error body, as sent. */
export interface V2ErrorBody {
  errorCode: number;
  message: string;
  cause?: string;
  index?: number;
}

/** The typed error for an etcd v2 error body; `op` and `key` say what was refused. */
export function v2ErrorFrom(body: V2ErrorBody, op: string, key: string, endpoint: string, user: string | undefined): StoreError {
  const ctx = { op, key, endpoint, cause: body.cause };
  if (body.errorCode === 110) {
    // v2 has its own auth system (separate from v3's users and roles in etcd 3.4/3.5).
    const who = user === undefined ? 'this client (no etcd user)' : `etcd user "${user}"`;
    return new PermissionDeniedError(
      `etcd v2 refused ${op} of ${key} for ${who} at ${endpoint}: ${body.message}; ` +
      'etcd v2 auth is separate from v3 auth: grant the v2 role this prefix, or use v2 credentials that have it', { ...ctx, user });
  }
  const Cls = BY_CODE[body.errorCode] ?? V2Error;
  return new Cls(`etcd v2 ${op} of ${key} failed at ${endpoint}: ${body.errorCode} ${body.message}${body.cause ? ` (${body.cause})` : ''}`,
    body.errorCode, body.index ?? 0, ctx);
}

/** The endpoint answers, but not with the v2 API: etcd 3.4/3.5 without --enable-v2, or etcd 3.6+. */
export class V2NotServedError extends StoreError {}

/**
 * A multi-host write in etcd v2 stopped part-way (v2 has no multi-key transactions). `written`
 * lists the keys changed (each audited), `notWritten` those left as they were.
 */
export class V2PartialWriteError extends StoreError {}

/** A change was made in etcd v2 but its audit record could not be written to v3. The change stands. */
export class V2AuditWriteError extends StoreError {}
