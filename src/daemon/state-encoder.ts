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
import { servicePath, type EffectiveServer, type PoolState } from '../model/types.js';

export interface Encoded {
  /** The published state (its server objects may be shared with earlier publications: read-only). */
  state: PoolState;
  /** The split header: the state without its servers, with `hosts`, their count, and `notServing`. */
  header: string;
  /** host → its server key's value (JSON.stringify of the server). */
  servers: ReadonlyMap<string, string>;
  /** The inline form: JSON.stringify(state). Built on demand (the split form is the common case). */
  inline(): string;
}

const SERVERS_EMPTY = '"servers":{}';

interface Kept {
  /** Per host, in order: the ServerState and hold last encoded, and its effective form and JSON. */
  entries: Map<string, { s: ServerState; held: boolean; e: { server: EffectiveServer; json: string } }>;
  servers: Record<string, EffectiveServer>;
  values: Map<string, string>;
  notServing: Set<string>;
}

export class StateEncoder {
  private readonly servers = new WeakMap<ServerState, { server: EffectiveServer; json: string }>();
  /**
   * Per LVS service, what its last encoding built. At eqiad's size a kubesvc depool encodes 44
   * sections of 240 hosts with one changed each: copying the last servers and values and building the
   * one that changed is several times cheaper than putting 240 entries together again per section.
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

  private effective(s: ServerState, hold: ReturnType<NonNullable<CoordinatorState['holds']>['get']>): { server: EffectiveServer; json: string } {
    if (hold === undefined) {
      let e = this.servers.get(s);
      if (e === undefined) {
        const server = effectiveServer(s, undefined);
        this.servers.set(s, (e = { server, json: JSON.stringify(server) }));
      }
      return e;
    }
    // A held or forced depool is rare and its hold changes apart from the server: built every time.
    const server = effectiveServer(s, hold);
    return { server, json: JSON.stringify(server) };
  }

  /** The servers of `state`, from the last encoding when only some servers changed. */
  private build(path: string, state: CoordinatorState): Kept {
    const last = this.kept.get(path);
    if (last !== undefined && last.entries.size === state.servers.size) {
      const changed: string[] = [];
      let same = true;
      for (const [host, s] of state.servers) {
        const k = last.entries.get(host);
        if (k === undefined) {
          same = false;
          break;
        }
        if (k.s !== s || k.held || state.holds?.has(host) === true) changed.push(host);
      }
      if (same) {
        if (changed.length === 0) return last;
        const next: Kept = { entries: new Map(last.entries), servers: { ...last.servers }, values: new Map(last.values), notServing: new Set(last.notServing) };
        for (const host of changed) this.put(next, host, state.servers.get(host)!, state);
        return next;
      }
    }
    const next: Kept = { entries: new Map(), servers: {}, values: new Map(), notServing: new Set() };
    for (const [host, s] of state.servers) this.put(next, host, s, state);
    return next;
  }

  private put(k: Kept, host: string, s: ServerState, state: CoordinatorState): void {
    const hold = state.holds?.get(host);
    const e = this.effective(s, hold);
    k.entries.set(host, { s, held: hold !== undefined, e });
    k.servers[host] = e.server;
    k.values.set(host, e.json);
    if (e.server.pooled && e.server.up) k.notServing.delete(host);
    else k.notServing.add(host);
  }

  encode(state: CoordinatorState, correlatedFailure?: CorrelatedFailure): Encoded {
    const path = servicePath(state);
    const kept = this.build(path, state);
    this.kept.set(path, kept);
    const { servers, values } = kept;
    // Everything but the servers as effectiveState builds it; `servers` keeps its place in the key order.
    const base = effectiveState({ ...state, servers: new Map(), holds: undefined });
    const published: PoolState = { ...base, servers, ...(correlatedFailure ? { correlatedFailure } : {}) };
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
