// A published state as readers see it: header and server keys read at one revision and put back
// together (src/store/state-layout.ts), decoded by the one decoder. For tests that check what poold
// published in etcd.
import type { PoolState } from '../../src/model/types.js';
import { decodeAssembledState } from '../../src/store/decode.js';
import { Keys } from '../../src/store/keys.js';
import type { Kv } from '../../src/store/kv.js';
import { readAssembledStates } from '../../src/store/state-layout.js';

/** The published state of `path` (`dc/name`), or undefined when none is; at `revision` when given. */
export async function publishedState(kv: Kv, path: string, revision?: number, keys = new Keys()): Promise<PoolState | undefined> {
  const [dc, name] = path.split('/') as [string, string];
  const [a] = await readAssembledStates(kv, keys, [{ dc, name }], revision === undefined ? undefined : { revision });
  return a === undefined ? undefined : decodeAssembledState(a);
}

/** Every published state of `dc`, by LVS service name. */
export async function publishedStates(kv: Kv, dc: string, keys = new Keys()): Promise<Map<string, PoolState>> {
  const all = await readAssembledStates(kv, keys);
  return new Map(all.filter((a) => a.key.dc === dc).map((a) => [a.key.name, decodeAssembledState(a)]));
}

/** `state` in the leader's split form: its header (`hosts`, `notServing`) and one value per server, in order. */
export function splitForm(state: PoolState): { header: string; servers: [string, string][] } {
  const { servers, ...rest } = state;
  const notServing = Object.entries(servers).filter(([, s]) => !(s.pooled && s.up)).map(([h]) => h).sort();
  return {
    header: JSON.stringify({ ...rest, hosts: Object.keys(servers).length, notServing }),
    servers: Object.entries(servers).map(([h, s]) => [h, JSON.stringify(s)]),
  };
}

/** Writes `state` as the leader's split form does: its server keys and its header, in one transaction. */
export async function putSplitState(kv: Kv, state: PoolState, keys = new Keys()): Promise<void> {
  const { header, servers } = splitForm(state);
  await kv.txn({
    compare: [],
    success: [
      ...servers.map(([h, v]) => ({ type: 'put' as const, key: keys.stateServer(state, h), value: v })),
      { type: 'put', key: keys.state(state), value: header },
    ],
  });
}
