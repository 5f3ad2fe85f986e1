// The v2 bridge's decision for one key, as a pure function of three byte strings: the value both
// keyspaces last agreed on (`base`), and the current value in v2 and in v3 (undefined: absent).
//
//   - both sides hold the same bytes      → nothing to do
//   - only one side differs from base     → that side's bytes, verbatim (a put, a create or a delete)
//   - both differ (concurrent changes)    → a field-wise three-way merge of the JSON objects: a field
//     changed on one side only keeps that change, so two writers touching different fields both
//     survive; a field both sides changed to different values goes to the AUTHORITATIVE side (v2 by
//     default: conftool and PyBal still read it). A delete against a change, or a value that is not
//     a JSON object, cannot be merged field by field: the authoritative side's whole state wins.
//   - no base (never synced: first start) → as "both differ" with an empty base, i.e. the union of
//     the fields, the authoritative side winning fields both set; a key on one side only is copied.
//
// The result is deterministic (no clocks, no arrival order), so re-deciding after a lost
// compare-and-swap converges, and writing it back produces no further change: no loops.
import { pythonJsonDumps } from './conftool-value.js';

export type BridgeSide = 'v2' | 'v3';

export type MergeReason = 'in-sync' | 'v2-changed' | 'v3-changed' | 'merged' | 'authority';

export interface MergeDecision {
  /** The bytes both sides must hold (undefined: the key must be absent on both). */
  target: string | undefined;
  reason: MergeReason;
  /** Fields both sides changed differently, won by the authoritative side. */
  conflicts: string[];
}

type Obj = Record<string, unknown>;

function parseObject(raw: string | undefined): Obj | undefined {
  if (raw === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
  } catch {
    // Not JSON: such a value is carried as opaque bytes, never merged field by field.
    return undefined;
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as Obj);
  const kb = Object.keys(b as Obj);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as Obj, k) && same((a as Obj)[k], (b as Obj)[k]));
}

const has = (o: Obj, k: string) => Object.hasOwn(o, k);

/** Field-wise three-way merge onto the authoritative object; returns the merged object and the conflicts. */
function mergeFields(base: Obj, auth: Obj, other: Obj): { merged: Obj; conflicts: string[] } {
  const merged: Obj = { ...auth };
  const conflicts: string[] = [];
  const changed = (side: Obj, k: string) => has(side, k) !== has(base, k) || (has(side, k) && !same(side[k], base[k]));
  for (const k of new Set([...Object.keys(other), ...Object.keys(base)])) {
    if (!changed(other, k)) continue;
    if (changed(auth, k)) {
      const agree = has(auth, k) === has(other, k) && (!has(auth, k) || same(auth[k], other[k]));
      if (!agree) conflicts.push(k);
      continue;
    }
    if (has(other, k)) merged[k] = other[k];
    else delete merged[k];
  }
  return { merged, conflicts };
}

export function decide(base: string | undefined, v2: string | undefined, v3: string | undefined, authority: BridgeSide): MergeDecision {
  if (v2 === v3) return { target: v2, reason: 'in-sync', conflicts: [] };
  const c2 = v2 !== base;
  const c3 = v3 !== base;
  if (c2 && !c3) return { target: v2, reason: 'v2-changed', conflicts: [] };
  if (c3 && !c2) return { target: v3, reason: 'v3-changed', conflicts: [] };
  // Both changed (or, unreachable with a consistent base, neither did): concurrent changes.
  const [authRaw, otherRaw] = authority === 'v2' ? [v2, v3] : [v3, v2];
  const authObj = parseObject(authRaw);
  const otherObj = parseObject(otherRaw);
  const baseObj = base === undefined ? {} : parseObject(base);
  if (authObj === undefined || otherObj === undefined || baseObj === undefined) {
    return { target: authRaw, reason: 'authority', conflicts: [] };
  }
  const { merged, conflicts } = mergeFields(baseObj, authObj, otherObj);
  // Keep a side's exact bytes when the merge equals it (a float written as 1.0 stays 1.0).
  const bytes = pythonJsonDumps(merged);
  const target = bytes === pythonJsonDumps(authObj) ? authRaw : bytes === pythonJsonDumps(otherObj) ? otherRaw : bytes;
  return { target, reason: 'merged', conflicts };
}
