// PyBal runs on CPython 2.7, so the bytes of its HTTP answers depend on two CPython details:
//  - dict iteration order (string hash + open addressing), which orders hosts, pools and JSON keys;
//  - json.dumps' default separators (", " and ": ") and ensure_ascii escaping.
// Clients and diff-based tooling compare our answers with PyBal's, so we reproduce both.
// This is an independent implementation from the CPython 2.7 algorithms (64-bit build, hash
// randomization off as in PyBal's default environment), not a port of PyBal code.

// 64-bit values are kept as two unsigned 32-bit halves in plain numbers: BigInt arithmetic made a
// 10k-host pool take ~0.5 s, this takes a few ms. Every product stays below 2^53, so it is exact.
const MULT = 1000003;
const TWO32 = 0x1_0000_0000;

interface U64 {
  hi: number;
  lo: number;
}

/** CPython 2.7's string hash of the UTF-8 bytes, as unsigned halves (equal to hash(u'') for ASCII). */
function hash64(s: string): U64 {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length === 0) return { hi: 0, lo: 0 };
  let hi = 0;
  let lo = (bytes[0] << 7) >>> 0;
  for (const b of bytes) {
    const low = lo * MULT;
    const loMul = low % TWO32;
    hi = (hi * MULT + Math.floor(low / TWO32)) % TWO32;
    lo = (loMul ^ b) >>> 0;
  }
  lo = (lo ^ bytes.length) >>> 0;
  // hi stays as computed: the length is far below 2^32. CPython reserves -1 for errors.
  if (hi === 0xffffffff && lo === 0xffffffff) lo = 0xfffffffe;
  return { hi, lo };
}

/** CPython 2.7 `hash(str)` on a 64-bit build, as a signed 64-bit integer. */
export function py2StrHash(s: string): bigint {
  const { hi, lo } = hash64(s);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

/**
 * CPython 2.7 dict probing: slot = hash & mask, then i = 5i + perturb + 1 with perturb >>= 5.
 * Tables never reach 2^32 slots, so only the low 32 bits of i matter. `table` holds key indexes
 * (-1 = empty) so it stays a typed array.
 */
function findFreeSlot(table: Int32Array, hi: number, lo: number): number {
  const mask = table.length - 1;
  let i = lo;
  let pHi = hi;
  let pLo = lo;
  let slot = i & mask;
  while (table[slot] !== -1) {
    i = (i * 5 + pLo + 1) % TWO32;
    pLo = ((pLo >>> 5) | ((pHi & 31) << 27)) >>> 0;
    pHi = pHi >>> 5;
    slot = i & mask;
  }
  return slot;
}

/**
 * The iteration order of a CPython 2.7 dict built by inserting `keys` (distinct strings) in the
 * given order into an empty dict, with no deletions.
 */
export function py2DictOrder(keys: readonly string[]): string[] {
  const unique = [...new Set(keys)];
  const his = new Uint32Array(unique.length);
  const los = new Uint32Array(unique.length);
  let table = new Int32Array(8).fill(-1);
  for (let k = 0; k < unique.length; k++) {
    const h = hash64(unique[k]);
    his[k] = h.hi;
    los[k] = h.lo;
    table[findFreeSlot(table, h.hi, h.lo)] = k;
    const used = k + 1;
    // No deletions, so fill == used; CPython resizes once fill*3 >= (mask+1)*2, to the smallest
    // power of two above (used > 50000 ? 2 : 4) * used, re-inserting in old slot order.
    if (used * 3 >= table.length * 2) {
      const minused = (used > 50000 ? 2 : 4) * used;
      let size = 8;
      while (size <= minused) size <<= 1;
      const next = new Int32Array(size).fill(-1);
      for (const idx of table) if (idx !== -1) next[findFreeSlot(next, his[idx], los[idx])] = idx;
      table = next;
    }
  }
  const out: string[] = [];
  for (const idx of table) if (idx !== -1) out.push(unique[idx]);
  return out;
}

/**
 * The order in which a freshly started PyBal lists the hosts of a pool in text (/pools/<pool>):
 * its config dict is filled in the server list's line order (poold serves it sorted, as etcd lists
 * keys), and the coordinator's `servers` dict is filled by iterating that dict
 * (Coordinator.onConfigUpdate); the text answer iterates `servers`.
 */
export function pybalHostOrder(hosts: Iterable<string>): string[] {
  return py2DictOrder(py2DictOrder([...hosts].sort()));
}

/**
 * The order of the hosts in PyBal's JSON /pools/<pool>: PoolServers.render_GET fills a third dict,
 * `res`, by iterating `servers`, and json.dumps iterates `res`. With colliding hashes the refill
 * moves keys, so this differs from the text order (restbase1007..1010: text 1007, 1009, 1008, 1010;
 * JSON 1010, 1009, 1008, 1007).
 */
export function pybalJsonHostOrder(hosts: Iterable<string>): string[] {
  return py2DictOrder(pybalHostOrder(hosts));
}

/** The JSON order from an already computed text order (saves recomputing the first two fills). */
export function pybalJsonOrderFromText(textOrder: readonly string[]): string[] {
  return py2DictOrder(textOrder);
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
