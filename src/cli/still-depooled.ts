// After `poolctl pool HOST`: the pools of that host the command did not touch where it is still
// depooled (`pooled: no`), each with when and by whom it was depooled. A script that depools every
// pool of a host and repools only one leaves the host out of the others; saying so at once, on the
// pool command's own output, catches that before the host is forgotten there (issue 14, item 7).
import { poolPath } from '../model/types.js';
import type { Kv } from '../store/kv.js';
import type { Keys } from '../store/keys.js';
import type { HostEntry, Inventory } from './inventory.js';

export interface StillDepooled {
  key: string;
  host: string;
  /** dc/cluster/service */
  pool: string;
  /** When the depool was written (ISO), from its audit record; null without one (e.g. confctl). */
  since: string | null;
  by: string | null;
  reason: string | null;
  /** The key's mod revision: the depool happened at or before it. */
  modRevision: number;
}

/**
 * How many audit records to read at most, newest first, looking for the depools: the log holds
 * every write of the retention period, so an old depool may be past this; it is then reported
 * without its author rather than by reading the whole log.
 */
export const AUDIT_SCAN_LIMIT = 5000;
const PAGE = 500;

/** The host's other pools (not among `touched`) where it is `pooled: no`, in key order. */
export function otherDepooled(inv: Inventory, touched: readonly HostEntry[]): HostEntry[] {
  const hosts = new Set(touched.map((t) => t.host));
  const keys = new Set(touched.map((t) => t.key));
  return inv.hosts.filter((h) => hosts.has(h.host) && !keys.has(h.key) && h.value?.pooled === 'no');
}

/**
 * Finds, for each entry, the audit record of the write that set `pooled: no` (the newest record of
 * that key whose `after.pooled` is "no" and `before.pooled` is not). A newer record of the key that
 * leaves it pooled would mean the depool came later from a tool that writes no audit: then unknown.
 */
export async function findDepools(kv: Kv, keys: Keys, entries: HostEntry[], scanLimit = AUDIT_SCAN_LIMIT): Promise<StillDepooled[]> {
  const found = new Map<string, { since: string; by: string; reason: string } | null>();
  const wanted = new Set(entries.map((e) => e.key));
  const prefix = keys.auditPrefix();
  let high = prefix.slice(0, -1) + '0'; // just past the last possible id ('/' + 1 = '0')
  let scanned = 0;
  while (found.size < wanted.size && scanned < scanLimit) {
    const r = await kv.range({ key: prefix, end: high, order: 'descend', limit: Math.min(PAGE, scanLimit - scanned) });
    for (const e of r.kvs) {
      scanned++;
      const rec = parseRecord(e.value);
      if (rec === undefined || !wanted.has(rec.key) || found.has(rec.key)) continue;
      const after = rec.after?.pooled;
      const before = rec.before?.pooled;
      if (after === 'no' && before === 'no') continue; // a weight change while depooled: look further back
      found.set(rec.key, after === 'no' ? { since: rec.time, by: rec.actor, reason: rec.reason } : null);
    }
    if (!r.more || r.kvs.length === 0) break;
    high = r.kvs[r.kvs.length - 1].key;
  }
  return entries.map((e) => {
    const f = found.get(e.key) ?? null;
    return {
      key: e.key, host: e.host, pool: poolPath(e), modRevision: e.modRevision,
      since: f?.since ?? null, by: f?.by ?? null, reason: f === null || f.reason === '' ? null : f.reason,
    };
  });
}

interface Rec {
  key: string;
  actor: string;
  reason: string;
  time: string;
  before: { pooled?: unknown } | null;
  after: { pooled?: unknown } | null;
}

function parseRecord(raw: string): Rec | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    // A record another tool mangled says nothing about these depools; `poolctl audit` reports it.
    return undefined;
  }
  const r = v as Partial<Rec> | null;
  if (r === null || typeof r !== 'object' || typeof r.key !== 'string' || typeof r.time !== 'string') return undefined;
  const obj = (x: unknown) => (x !== null && typeof x === 'object' ? (x as { pooled?: unknown }) : null);
  return { key: r.key, actor: String(r.actor ?? 'unknown'), reason: typeof r.reason === 'string' ? r.reason : '', time: r.time, before: obj(r.before), after: obj(r.after) };
}

/** `note: sca1001.eqiad.wmnet is still depooled in eqiad/kubernetes/other (since …, by …: reason)` */
export function stillDepooledNote(s: StillDepooled): string {
  const who = s.since === null
    ? `no audit record of the depool in the last ${AUDIT_SCAN_LIMIT} records; value at revision ${s.modRevision}`
    : `since ${s.since}, by ${s.by}${s.reason === null ? '' : `: ${s.reason}`}`;
  return `note: ${s.host} is still depooled in ${s.pool} (${who})`;
}
