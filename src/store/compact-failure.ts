// Shared by both Kv adapters' maintenance calls (kv.ts KvMaintenance): what a refused compaction
// means, and etcd's alarm names in one spelling.
import { CompactedError } from './errors.js';

/**
 * mapEtcdError words "required revision has been compacted" for reads and watches; for a compaction
 * it means the history is already compacted that far (e.g. by the etcd operator): say that.
 */
export function compactFailure(revision: number, err: unknown): unknown {
  if (err instanceof CompactedError) {
    return new CompactedError(`etcd history is already compacted at or past revision ${revision}`, revision, undefined);
  }
  return err;
}

/** 'NOSPACE', 'CORRUPT', 'NONE' from the etcd3 library's 'Nospace' or the gateway's 'NOSPACE' (or the number). */
export function alarmName(alarm: string | number | undefined): string {
  if (typeof alarm === 'number') return ['NONE', 'NOSPACE', 'CORRUPT'][alarm] ?? `ALARM_${alarm}`;
  return (alarm ?? 'NONE').toUpperCase();
}
