// LVS service definitions and the pools' server lists, as one range or watch of `<poold>/services/`
// delivers them (both kinds live there, so they arrive in commit order): the daemon's and the LVS
// agent's mirror of what sync stored. A definition without its own `servers` takes its pool's stored
// list (Keys.poolList), so a change of that one list is a change of every definition over the pool:
// change() names them, and the caller decodes each again (decode), keeping its last good definition
// when that fails, as for any bad value.
import { InvalidStoredValueError } from '../model/errors.js';
import { poolPath, servicePath, type PoolKey, type ServiceDef, type ServiceKey } from '../model/types.js';
import { decodePoolList, decodeServiceDef } from './decode.js';
import type { Keys } from './keys.js';

interface StoredDefinition {
  key: string;
  value: string;
  sk: ServiceKey;
  /**
   * The pool whose list the last decode asked for; undefined: it carries its own servers; null: not
   * decoded since it was put, so any list may be its own.
   */
  listOf: string | null | undefined;
}

type StoredList = { servers: Record<string, unknown> } | { problem: string };

export interface DefinitionChange {
  /** Definitions put, or whose pool's list changed: decode them (again). */
  changed: ServiceKey[];
  /** Definitions deleted. */
  removed: ServiceKey[];
}

export class DefinitionSet {
  private readonly defs = new Map<string, StoredDefinition>();
  private readonly lists = new Map<string, StoredList>();
  /** What change() touched since the last take(), by path, last word wins. */
  private readonly pending = new Map<string, { sk: ServiceKey; removed: boolean }>();

  /** `keep`: which definitions to mirror (the daemon's dc scope, the agent's services). */
  constructor(private readonly keys: Keys, private readonly keep: (sk: ServiceKey) => boolean) {}

  /**
   * The definitions changed or removed since the last take(), each once (last word wins): callers take
   * them at the end of a listing or watch batch and decode them then, so a definition listed before
   * its pool's list (key order: services/<dc>/... sorts before services/~pools/...) is not reported
   * invalid for a moment.
   */
  take(): { sk: ServiceKey; removed: boolean }[] {
    const out = [...this.pending.values()];
    this.pending.clear();
    return out;
  }

  /** A key under services/ was put (value) or deleted (undefined). Keys of neither kind change nothing. */
  change(key: string, value: string | undefined): DefinitionChange {
    const c = this.apply(key, value);
    for (const sk of c.removed) this.pending.set(servicePath(sk), { sk, removed: true });
    for (const sk of c.changed) this.pending.set(servicePath(sk), { sk, removed: false });
    return c;
  }

  private apply(key: string, value: string | undefined): DefinitionChange {
    const sk = this.keys.parseService(key);
    if (sk !== undefined) {
      if (!this.keep(sk)) return { changed: [], removed: [] };
      if (value === undefined) {
        this.defs.delete(servicePath(sk));
        return { changed: [], removed: [sk] };
      }
      this.defs.set(servicePath(sk), { key, value, sk, listOf: null });
      return { changed: [sk], removed: [] };
    }
    const pool = this.keys.parsePoolList(key);
    if (pool === undefined) return { changed: [], removed: [] };
    const path = poolPath(pool);
    if (value === undefined) this.lists.delete(path);
    else this.lists.set(path, readList(key, value, pool));
    const changed = [...this.defs.values()].filter((d) => d.listOf === path || d.listOf === null).map((d) => d.sk);
    return { changed, removed: [] };
  }

  /** Forgets everything (a new listing follows). */
  clear(): void {
    this.defs.clear();
    this.lists.clear();
    this.pending.clear();
  }

  /** Paths of the definitions held. */
  paths(): string[] {
    return [...this.defs.keys()];
  }

  /** The definition stored for `sk`, with its pool's list; InvalidStoredValueError when either is bad. */
  decode(sk: ServiceKey): ServiceDef {
    const d = this.defs.get(servicePath(sk));
    if (d === undefined) throw new InvalidStoredValueError(`${this.keys.service(sk)}: no definition stored`, { key: this.keys.service(sk) });
    d.listOf = undefined;
    return decodeServiceDef(d.key, d.value, sk, (pool) => {
      d.listOf = poolPath(pool);
      const list = this.lists.get(d.listOf);
      if (list !== undefined && 'problem' in list) {
        throw new InvalidStoredValueError(`${d.key}: its pool's server list is unreadable: ${list.problem}`, { key: d.key, list: this.keys.poolList(pool) });
      }
      return list?.servers;
    });
  }
}

function readList(key: string, value: string, pool: PoolKey): StoredList {
  try {
    return { servers: decodePoolList(key, value, pool) };
  } catch (err) {
    if (err instanceof InvalidStoredValueError) return { problem: err.message };
    throw err;
  }
}
