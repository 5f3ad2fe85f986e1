// Store-specific error types. All are StoreError (poolctl exit 1) so callers that only care
// "etcd failed" can catch one type, while those that can do better (re-list after compaction,
// tell the operator which key they may not write) match the subclass.
import { StoreError } from '../model/errors.js';

/** The etcd user may not read or write the key(s). `context.keys` lists the keys of the request. */
export class PermissionDeniedError extends StoreError {}

/** Wrong user name or password, or auth required but no credentials given. */
export class AuthenticationError extends StoreError {}

/** No endpoint answered (refused, timed out, TLS failure). `context.endpoints` lists those tried. */
export class StoreUnavailableError extends StoreError {}

/** A watch or read asked for a revision older than etcd's compaction point: re-list, then watch again. */
export class CompactedError extends StoreError {
  constructor(message: string, readonly requestedRevision: number, readonly compactRevision: number | undefined) {
    super(message, { requestedRevision, compactRevision });
  }
}

/** etcd refuses writes: its NOSPACE alarm is raised (the database reached --quota-backend-bytes). */
export class NoSpaceError extends StoreError {}

/** A compare-and-swap write kept conflicting with concurrent writers after every retry. */
export class ConflictError extends StoreError {}

/** A transaction etcd would refuse for its size (too many operations, or too many bytes). */
export class RequestTooLargeError extends StoreError {}

/**
 * A write split into several transactions failed part-way: the keys in `done` were committed (each
 * with its audit record), those in `notDone` were not. Every committed record carries
 * `operationId`. Writes skip keys that already hold the wanted value, so running the same command
 * again completes it. `cause` is the error that stopped it.
 */
export class PartialWriteError extends StoreError {
  constructor(message: string, readonly operationId: string, readonly done: string[], readonly notDone: string[], cause: unknown) {
    super(message, { operationId, done, notDone }, { cause });
  }
}
