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
import type { EffectiveServer, PoolState } from '../model/types.js';
import { servingView } from '../model/threshold-guard.js';

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

export class StateEncoder {
  private readonly servers = new WeakMap<ServerState, { server: EffectiveServer; json: string }>();

  encode(state: CoordinatorState, correlatedFailure?: CorrelatedFailure): Encoded {
    const servers: Record<string, EffectiveServer> = {};
    const values = new Map<string, string>();
    for (const [host, s] of state.servers) {
      const hold = state.holds?.get(host);
      let e: { server: EffectiveServer; json: string } | undefined;
      if (hold === undefined) {
        e = this.servers.get(s);
        if (e === undefined) {
          const server = effectiveServer(s, undefined);
          this.servers.set(s, (e = { server, json: JSON.stringify(server) }));
        }
      } else {
        // A held or forced depool is rare and its hold changes apart from the server: built every time.
        const server = effectiveServer(s, hold);
        e = { server, json: JSON.stringify(server) };
      }
      servers[host] = e.server;
      values.set(host, e.json);
    }
    // Everything but the servers as effectiveState builds it; `servers` keeps its place in the key order.
    const base = effectiveState({ ...state, servers: new Map(), holds: undefined });
    const published: PoolState = { ...base, servers, ...(correlatedFailure ? { correlatedFailure } : {}) };
    // The first `"servers":{}` is the top-level key: the keys before it are dc, name, pool (cluster,
    // service), revision, updatedAt and depoolThreshold, and a string cannot hold an unescaped quote.
    const outer = JSON.stringify({ ...published, servers: {} });
    const at = outer.indexOf(SERVERS_EMPTY);
    // The split header also names the servers that do not serve: all poolctl's guard reads of a state.
    const notServing = JSON.stringify([...servingView(published).notServing]);
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
