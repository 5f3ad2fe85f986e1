// PyBal runs on CPython 2.7, so the bytes of its HTTP answers depend on two CPython details:
//  - dict iteration order (string hash + open addressing), which orders hosts, pools and JSON keys;
//  - json.dumps' default separators (", " and ": ") and ensure_ascii escaping.
// Clients and diff-based tooling compare our answers with PyBal's, so we reproduce both.
// This is an independent implementation from the CPython 2.7 algorithms (64-bit build, hash
// randomization off as in PyBal's default environment), not a port of PyBal code.

const MASK64 = (1n << 64n) - 1n;
const SIGN64 = 1n << 63n;

function toSigned64(x: bigint): bigint {
  const u = x & MASK64;
  return u >= SIGN64 ? u - (1n << 64n) : u;
}

/** CPython 2.7 `hash(str)` on a 64-bit build (bytes of the UTF-8 encoding, as PyBal's str). */
export function py2StrHash(s: string): bigint {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length === 0) return 0n;
  let x = BigInt(bytes[0]) << 7n;
  for (const b of bytes) x = toSigned64(toSigned64(1000003n * x) ^ BigInt(b));
  x = toSigned64(x ^ BigInt(bytes.length));
  return x === -1n ? -2n : x;
}

/** Slot index sequence of CPython 2.7's dict probing for one hash in a table of `size` slots. */
function findFreeSlot(table: (string | null)[], hash: bigint): number {
  const mask = BigInt(table.length - 1);
  let i = hash & MASK64;
  let perturb = hash & MASK64;
  let slot = Number(i & mask);
  while (table[slot] !== null) {
    i = (((i << 2n) + i + perturb + 1n) & MASK64);
    perturb >>= 5n;
    slot = Number(i & mask);
  }
  return slot;
}

function resized(table: (string | null)[], hashes: Map<string, bigint>, used: number): (string | null)[] {
  // dictresize(mp, (used > 50000 ? 2 : 4) * used): smallest power of two > minused, at least 8.
  const minused = (used > 50000 ? 2 : 4) * used;
  let size = 8;
  while (size <= minused) size <<= 1;
  const next: (string | null)[] = new Array(size).fill(null);
  for (const key of table) {
    if (key === null) continue;
    const h = hashes.get(key) as bigint;
    next[findFreeSlot(next, h)] = key;
  }
  return next;
}

/**
 * The iteration order of a CPython 2.7 dict built by inserting `keys` (distinct strings) in the
 * given order into an empty dict, with no deletions.
 */
export function py2DictOrder(keys: readonly string[]): string[] {
  const hashes = new Map<string, bigint>();
  let table: (string | null)[] = new Array(8).fill(null);
  let used = 0;
  for (const key of keys) {
    if (hashes.has(key)) continue;
    const h = py2StrHash(key);
    hashes.set(key, h);
    table[findFreeSlot(table, h)] = key;
    used++;
    // No deletions, so fill == used; CPython resizes once fill*3 >= (mask+1)*2.
    if (used * 3 >= table.length * 2) table = resized(table, hashes, used);
  }
  return table.filter((k): k is string => k !== null);
}

/**
 * The order in which a freshly started PyBal lists the hosts of a pool: its config dict is filled
 * in etcd key order (sorted), and the coordinator's server dict is filled by iterating that dict.
 */
export function pybalHostOrder(hosts: Iterable<string>): string[] {
  return py2DictOrder(py2DictOrder([...hosts].sort()));
}

/** The order PyBal lists pools: a dict filled from the configured service names. */
export function pybalPoolOrder(pools: Iterable<string>): string[] {
  return py2DictOrder([...pools].sort());
}

/** A JSON value as Python's json.dumps writes it with its defaults. */
export type PyJson = null | boolean | number | string | PyJson[] | PyJsonObject;
/** Objects are written in the order of `entries`: callers pass PyBal's (CPython dict) key order. */
export interface PyJsonObject {
  readonly entries: readonly (readonly [string, PyJson])[];
}

export function pyObject(keysInOrder: readonly string[], values: Record<string, PyJson>): PyJsonObject {
  return { entries: keysInOrder.map((k) => [k, values[k]] as const) };
}

function pyString(s: string): string {
  // ensure_ascii: everything outside printable ASCII becomes \uXXXX (UTF-16 units, like Python).
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out + '"';
}

/** json.dumps(value) with Python's default separators. Only integers are expected as numbers. */
export function pyJsonDumps(value: PyJson): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    // PyBal's numbers are int weights; Python would write a float 10.0 where JS writes 10.
    return String(value);
  }
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return '[' + value.map(pyJsonDumps).join(', ') + ']';
  const obj = value as PyJsonObject;
  return '{' + obj.entries.map(([k, v]) => `${pyString(k)}: ${pyJsonDumps(v)}`).join(', ') + '}';
}

/** Key orders of the dicts PyBal serialises, fixed because the dicts are literals. */
export const PYBAL_SERVER_KEYS = py2DictOrder(['pooled', 'weight', 'up', 'enabled']);
