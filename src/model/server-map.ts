// The servers of a coordinator state: immutable, in host-name order, and cheap to change a few of.
//
// Why not a Map: at Wikimedia's eqiad one kubesvc depool changes one server in each of the 44 LVS
// services over that pool of 240 hosts. Copying a 240-entry Map per service (a rehash of every entry)
// and counting it again was most of the coordinator's cost per change, and the encoder then compared
// all 240 entries to find the one that changed (issue 12). Versions with the same hosts share one
// index (host → position) and differ only in their array of states: a change copies 240 pointers, and
// two versions are compared by walking two arrays.
//
// Invariants: `names` is sorted by byName and holds each host once; `index` maps names[i] to i;
// `states[i]` is the state of names[i]. Nothing here mutates after construction.
import type { ServerState } from './coordinator-types.js';
import { byName } from './order.js';

export class ServerMap implements ReadonlyMap<string, ServerState> {
  private constructor(
    private readonly index: ReadonlyMap<string, number>,
    private readonly names: readonly string[],
    private readonly states: readonly ServerState[],
  ) {}

  /** A map of these entries (any order; a host given twice keeps its last state). */
  static from(entries: Iterable<readonly [string, ServerState]>): ServerMap {
    const byHost = new Map<string, ServerState>(entries);
    const names = [...byHost.keys()].sort(byName);
    return new ServerMap(new Map(names.map((h, i) => [h, i])), names, names.map((h) => byHost.get(h) as ServerState));
  }

  /** `servers` itself when it is a ServerMap (no copy), else a ServerMap of its entries. */
  static of(servers: ReadonlyMap<string, ServerState>): ServerMap {
    return servers instanceof ServerMap ? servers : ServerMap.from(servers);
  }

  get size(): number {
    return this.names.length;
  }

  get(host: string): ServerState | undefined {
    const i = this.index.get(host);
    // Stryker disable next-line ConditionalExpression: `false` is equivalent, states[undefined] is undefined too (the test is for the type checker)
    return i === undefined ? undefined : this.states[i];
  }

  has(host: string): boolean {
    return this.index.has(host);
  }

  forEach(fn: (state: ServerState, host: string, map: ReadonlyMap<string, ServerState>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.names.length; i++) fn.call(thisArg, this.states[i] as ServerState, this.names[i] as string, this);
  }

  keys(): MapIterator<string> {
    return this.names.values();
  }

  values(): MapIterator<ServerState> {
    return this.states.values();
  }

  *entries(): MapIterator<[string, ServerState]> {
    for (let i = 0; i < this.names.length; i++) yield [this.names[i] as string, this.states[i] as ServerState];
  }

  [Symbol.iterator](): MapIterator<[string, ServerState]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'ServerMap';
  }

  /**
   * This map with `changes` applied: a state replaces the host's (or adds the host), null removes it.
   * With the same hosts afterwards, the result shares this map's index.
   */
  with(changes: ReadonlyMap<string, ServerState | null>): ServerMap {
    let sameHosts = true;
    for (const [host, s] of changes) {
      const here = this.index.has(host);
      if (s === null ? here : !here) {
        sameHosts = false;
        break;
      }
    }
    if (sameHosts) {
      // Replacements only (a removal of a host that is not here changes nothing).
      let states: ServerState[] | undefined;
      for (const [host, s] of changes) {
        // Here a null can only remove a host that is not in the map: nothing to do.
        if (s === null) continue;
        states ??= this.states.slice();
        states[this.index.get(host) as number] = s;
      }
      return states === undefined ? this : new ServerMap(this.index, this.names, states);
    }
    const all = new Map<string, ServerState>();
    for (let i = 0; i < this.names.length; i++) all.set(this.names[i] as string, this.states[i] as ServerState);
    for (const [host, s] of changes) {
      if (s === null) all.delete(host);
      else all.set(host, s);
    }
    return ServerMap.from(all);
  }

  /**
   * The hosts whose state is another object in `previous`, in host-name order, when both maps have the
   * same hosts by construction (one was made from the other by `with`, hosts unchanged); otherwise
   * null, and the caller compares host by host.
   */
  changedSince(previous: ServerMap): string[] | null {
    if (previous.index !== this.index) return null;
    const changed: string[] = [];
    this.states.forEach((s, i) => {
      if (s !== previous.states[i]) changed.push(this.names[i] as string);
    });
    return changed;
  }
}
