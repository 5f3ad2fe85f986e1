// conftool's per-host value, `{"weight": 10, "pooled": "yes"}`, read strictly and written
// byte-for-byte the way conftool writes it. conftool (Python) merges the new fields into the
// parsed old object and writes json.dumps() of it: keys keep their stored order, new keys go
// last, separators are ", " and ": ", and non-ASCII is \u-escaped. A node conftool creates has
// its schema order: weight, then pooled.
import { InvalidStoredValueError } from '../model/errors.js';
import { POOLED_VALUES, type ConftoolValue, type Pooled } from '../model/types.js';

/**
 * The fields a write changes: poolctl changes weight and pooled; other fields (another tool's)
 * may be patched too. Fields not in the patch are carried through untouched.
 */
export interface ConftoolPatch {
  weight?: number;
  pooled?: Pooled;
  [extra: string]: unknown;
}

/** What conftool stores for a host it creates without values. */
export const CONFTOOL_DEFAULTS: ConftoolValue = { weight: 0, pooled: 'inactive' };

function problemsOf(v: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!('weight' in v)) problems.push('"weight" is missing');
  else if (typeof v.weight !== 'number' || !Number.isInteger(v.weight) || v.weight < 0) {
    problems.push(`"weight" must be a non-negative integer, not ${JSON.stringify(v.weight)}`);
  }
  if (!('pooled' in v)) problems.push('"pooled" is missing');
  else if (!POOLED_VALUES.includes(v.pooled as Pooled)) {
    problems.push(`"pooled" must be one of ${POOLED_VALUES.join(', ')}, not ${JSON.stringify(v.pooled)}`);
  }
  return problems;
}

/** The raw JSON object stored at `key`, before field validation. */
export function parseStoredObject(key: string, raw: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new InvalidStoredValueError(
      `invalid value at ${key}: not JSON (${(err as Error).message}): ${JSON.stringify(raw.slice(0, 80))}; ` +
      'fix it with `poolctl weight`/`pool` or rewrite the key', { key, raw: raw.slice(0, 200) });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new InvalidStoredValueError(
      `invalid value at ${key}: expected a JSON object like {"weight": 10, "pooled": "yes"}, got ${raw.slice(0, 80)}`,
      { key, raw: raw.slice(0, 200) });
  }
  return v as Record<string, unknown>;
}

/** Throws InvalidStoredValueError naming the key and every problem unless `v` is a valid conftool value. */
export function validateConftoolValue(key: string, v: Record<string, unknown>): ConftoolValue {
  const problems = problemsOf(v);
  if (problems.length > 0) {
    throw new InvalidStoredValueError(`invalid value at ${key}: ${problems.join('; ')}`, { key, problems });
  }
  return v as ConftoolValue;
}

export function parseConftoolValue(key: string, raw: string): ConftoolValue {
  return validateConftoolValue(key, parseStoredObject(key, raw));
}

/**
 * conftool's merge: existing fields keep their order (unknown ones included), patched fields
 * change in place, missing ones are appended. A new key starts from conftool's defaults.
 */
export function mergeConftoolValue(existing: Record<string, unknown> | undefined, patch: ConftoolPatch): Record<string, unknown> {
  const out: Record<string, unknown> = existing === undefined ? { ...CONFTOOL_DEFAULTS } : { ...existing };
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The fields of `patch` that would change `current`. */
export function changedFields(current: Record<string, unknown> | undefined, patch: ConftoolPatch): ConftoolPatch {
  const out: ConftoolPatch = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined && (current === undefined || current[k] !== v)) out[k] = v;
  }
  return out;
}

function pyString(s: string): string {
  // JSON.stringify already escapes quotes, backslashes and control characters as Python does;
  // Python's ensure_ascii additionally escapes everything above 0x7f (UTF-16 units, as here).
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Python's json.dumps(v) for values that came from JSON. Known limits of going through
 * JSON.parse: a float stored as 1.0 comes back as 1, integers beyond 2^53 lose digits, and
 * integer-like field names ("10") move to the front of their object.
 */
export function pythonJsonDumps(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return pyString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pythonJsonDumps).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyString(k)}: ${pythonJsonDumps(x)}`).join(', ')}}`;
  }
  throw new TypeError(`cannot serialize ${typeof v} as JSON`);
}

export function serializeConftoolValue(v: Record<string, unknown>): string {
  return pythonJsonDumps(v);
}
