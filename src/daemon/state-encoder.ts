// The leader's encoding of a published state, incremental per server (issue 12). A kubesvc change at
// eqiad's size republishes 44 sections of 240 hosts (1.7 MB) although one host changed in each:
// building every effective server and serialising it again was 8-29 ms of the leader's path on a busy
// instance. The coordinator's states are persistent (coordinator-settle.ts: a server that did not
// change keeps its ServerState object across revisions), so each server's effective form and its
// JSON are kept per ServerState object and only changed servers are built again.
//
// Both forms of store/state-layout.ts come from here: the split header and one value per server, and
// the inline value, whose bytes are exactly JSON.stringify of the published state
// (test/daemon/state-encoder.test.ts).
import { effectiveServer, effectiveState } from '../model/coordinator.js';
import type { CoordinatorState, ServerState } from '../model/coordinator-types.js';
import type { CorrelatedFailure } from '../model/correlated.js';
import { ServerMap } from '../model/server-map.js';
import { servicePath, type EffectiveServer, type PoolState } from '../model/types.js';
import { asDecodedServer } from '../store/decode.js';

export interface Encoded {
  /** The published state (its server objects may be shared with earlier publications: read-only). */
  state: PoolState;
  /** The split header: the state without its servers, with `hosts`, their count, and `notServing`. */
  header: string;
  /** host → its server key's value (JSON.stringify of the server). The encoder's own map: read it before the next encode of this service. */
  servers: ReadonlyMap<string, string>;
  /** The inline form: JSON.stringify(state). Built on demand (the split form is the common case); call it before the next encode of this service. */
  inline(): string;
  /**
   * The hosts whose server may differ from the previous encoding of this service (`previous`):
   * changed, added or removed. null when there was none to compare with, or its hosts were not
   * these: then every host may differ.
   */
  changed: readonly string[] | null;
  /** The state of the previous encoding of this service, which `changed` is relative to. */
  previous?: PoolState;
}

const SERVERS_EMPTY = '"servers":{}';

type Built = { server: EffectiveServer; json: string };

interface Kept {
  /** Per host, in order: the ServerState and hold last encoded, and its effective form and JSON. */
  entries: Map<string, { s: ServerState; held: boolean; e: Built }>;
  /** host → JSON of the server; updated in place. */
  values: Map<string, string>;
  /** Hosts not serving (not pooled, or down); updated in place. */
  notServing: Set<string>;
  /** Hosts whose last encoding had a hold (built again every time). */
  held: Set<string>;
  /** The coordinator's servers last encoded. */
  servers: CoordinatorState['servers'];
  /** The last state published from these servers. */
  state?: PoolState;
}

export class StateEncoder {
  private readonly servers = new WeakMap<ServerState, Built>();
  /**
   * Per LVS service, what its last encoding built, updated in place. At eqiad's size a kubesvc depool
   * encodes 44 sections of 240 hosts with one changed each: only the changed server is built, and
   * nothing per unchanged server is copied but the published state's `servers` record (which must be
   * a new object: readers keep the previous state).
   */
  private readonly kept = new Map<string, Kept>();

  /** Forget a removed service's last encoding. */
  forget(path: string): void {
    this.kept.delete(path);
  }

  /** Forget every last encoding (leadership lost). */
  clear(): void {
    this.kept.clear();
  }

  private effective(where: string, s: ServerState, hold: ReturnType<NonNullable<CoordinatorState['holds']>['get']>): Built {
    if (hold === undefined) {
      let e = this.servers.get(s);
      if (e === undefined) this.servers.set(s, (e = built(where, effectiveServer(s, undefined))));
      return e;
    }
    // A held or forced depool is rare and its hold changes apart from the server: built every time.
    return built(where, effectiveServer(s, hold));
  }

  /**
   * The servers of `state`, from the last encoding when the hosts are the same ones, and which hosts
   * changed (null: all were built again).
   */
  private build(path: string, state: CoordinatorState): { kept: Kept; servers: Record<string, EffectiveServer>; changed: string[] | null } {
    const last = this.kept.get(path);
    if (last?.state !== undefined && last.entries.size === state.servers.size) {
      const changed = this.changedHosts(last, state);
      if (changed !== null) {
        last.servers = state.servers;
        if (changed.length === 0) return { kept: last, servers: last.state.servers, changed };
        const servers = copyRecord(last.state.servers);
        for (const host of changed) servers[host] = this.put(path, last, host, state.servers.get(host)!, state);
        return { kept: last, servers, changed };
      }
    }
    const kept: Kept = { entries: new Map(), values: new Map(), notServing: new Set(), held: new Set(), servers: state.servers };
    const servers: Record<string, EffectiveServer> = {};
    for (const [host, s] of state.servers) servers[host] = this.put(path, kept, host, s, state);
    if (last !== undefined) kept.state = last.state;
    return { kept, servers, changed: null };
  }

  /**
   * The hosts whose server may differ from the last encoding (a held one is built every time), or null
   * when the hosts are not the same ones. The coordinator's maps (model/server-map.ts) say which
   * servers changed without a look at the others: one of 240 per section at a kubesvc depool.
   */
  private changedHosts(last: Kept, state: CoordinatorState): string[] | null {
    const holds = state.holds;
    if (last.servers instanceof ServerMap && state.servers instanceof ServerMap) {
      const changed = state.servers.changedSince(last.servers);
      if (changed !== null) {
        if (last.held.size === 0 && (holds === undefined || holds.size === 0)) return changed;
        const all = new Set(changed);
        for (const host of last.held) all.add(host);
        for (const host of holds?.keys() ?? []) if (state.servers.has(host)) all.add(host);
        return [...all];
      }
    }
    const changed: string[] = [];
    for (const [host, s] of state.servers) {
      const k = last.entries.get(host);
      if (k === undefined) return null;
      if (k.s !== s || k.held || holds?.has(host) === true) changed.push(host);
    }
    return changed;
  }

  private put(path: string, k: Kept, host: string, s: ServerState, state: CoordinatorState): EffectiveServer {
    const hold = state.holds?.get(host);
    const e = this.effective(`${path} servers.${host}`, s, hold);
    k.entries.set(host, { s, held: hold !== undefined, e });
    if (hold !== undefined) k.held.add(host);
    else k.held.delete(host);
    k.values.set(host, e.json);
    if (e.server.pooled && e.server.up) k.notServing.delete(host);
    else k.notServing.add(host);
    return e.server;
  }

  encode(state: CoordinatorState, correlatedFailure?: CorrelatedFailure): Encoded {
    const path = servicePath(state);
    const { kept, servers, changed } = this.build(path, state);
    const previous = kept.state;
    this.kept.set(path, kept);
    const { values } = kept;
    // Everything but the servers as effectiveState builds it; `servers` keeps its place in the key order.
    const base = effectiveState({ ...state, servers: new Map(), holds: undefined });
    const published: PoolState = { ...base, servers, ...(correlatedFailure ? { correlatedFailure } : {}) };
    kept.state = published;
    // The first `"servers":{}` is the top-level key: the keys before it are dc, name, pool (cluster,
    // service), revision, updatedAt and depoolThreshold, and a string cannot hold an unescaped quote.
    const outer = JSON.stringify({ ...published, servers: {} });
    const at = outer.indexOf(SERVERS_EMPTY);
    // The split header also names the servers that do not serve (model/threshold-guard.ts servingView),
    // sorted: all poolctl's guard reads of a state.
    const notServing = JSON.stringify([...kept.notServing].sort());
    const header = `${outer.slice(0, at)}"hosts":${values.size},"notServing":${notServing}${outer.slice(at + SERVERS_EMPTY.length)}`;
    return {
      state: published,
      header,
      servers: values,
      changed: previous === undefined ? null : changed,
      ...(previous !== undefined ? { previous } : {}),
      // JSON.stringify(published), with the servers' kept JSON spliced in where their object goes.
      inline: () => {
        const parts: string[] = [];
        for (const [host, json] of values) parts.push(`${JSON.stringify(host)}:${json}`);
        const end = at + SERVERS_EMPTY.length - 1;
        return `${outer.slice(0, end)}${parts.join(',')}${outer.slice(end)}`;
      },
    };
  }
}

/**
 * A server's JSON, then the server as readers decode it (normalised in place, after serialising: the
 * defaults a reader fills in are not written), so a committed state is served as it is.
 */
function built(where: string, server: EffectiveServer): Built {
  const json = JSON.stringify(server);
  return { server: asDecodedServer(where, server), json };
}

/**
 * A shallow copy of a servers record. A record of 240 hosts is a dictionary-mode object, which V8
 * copies by spread (`{ ...r }`) 2-3 times slower than by this loop (60 against 25 µs on this
 * machine): 44 sections per kubesvc change.
 */
function copyRecord<T>(r: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  // Own keys only: records built here, by copyRecord, or by JSON.parse have no inherited ones.
  for (const k in r) out[k] = r[k]!;
  return out;
}
