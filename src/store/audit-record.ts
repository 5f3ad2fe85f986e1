// The audit record's shape (written by src/store/audit.ts, decoded by src/store/decode.ts).

export interface AuditRecord {
  /** Who: SUDO_USER, else USER, else the etcd user (see resolveActor). */
  actor: string;
  /** Why: the operator's --reason ('' when none was given). */
  reason: string;
  /** What: the etcd key that changed... */
  key: string;
  /** ...its value before (parsed JSON, or the raw string if it was not JSON; null when absent)... */
  before: unknown;
  /** ...and after (null when deleted). */
  after: unknown;
  /** When: ISO 8601 UTC. */
  time: string;
  /** Which operation (one poolctl command or sync; '' in records written before operation ids existed). */
  op: string;
}

export interface StoredAuditRecord extends AuditRecord {
  id: string;
  /** The etcd revision of the change (the record and the change share it). */
  revision: number;
}
