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
