// Issue 14 in `poolctl status`: per LVS service, a freeze (read from its etcd key, so it shows even
// before poold republished), the first round and a correlated failure (from the published state).
import { describeFreeze, freezeActive, type Freeze } from '../model/coordinator-freeze.js';
import { describeCorrelated } from '../model/correlated.js';
import { describeFirstRound } from '../model/first-verdict.js';
import type { PoolState } from '../model/types.js';
import { decodeFreeze } from '../store/decode.js';
import type { CliContext } from './context.js';

/** Every stored freeze by dc/name; a corrupt one is reported as a warning and skipped. */
export async function readFreezes(ctx: CliContext): Promise<Map<string, Freeze>> {
  const r = await ctx.kv.range({ key: ctx.keys.freezePrefix(), prefix: true });
  const out = new Map<string, Freeze>();
  for (const e of r.kvs) {
    const sk = ctx.keys.parseFreeze(e.key);
    if (sk === undefined) continue;
    try {
      out.set(`${sk.dc}/${sk.name}`, decodeFreeze(e.key, e.value));
    } catch (err) {
      ctx.out.warn((err as Error).message);
    }
  }
  return out;
}

/** Notes to print under an LVS service's table title. */
export function safetyNotes(path: string, state: PoolState | undefined, freeze: Freeze | undefined, now: number): string[] {
  const notes: string[] = [];
  if (freeze !== undefined && freezeActive(freeze, now)) notes.push(`FROZEN: ${describeFreeze(freeze)}`);
  if (state?.correlatedFailure !== undefined) notes.push(`CRITICAL: ${describeCorrelated(path, state.correlatedFailure)}`);
  if (state?.firstRound !== undefined) notes.push(`first round ${describeFirstRound(state.firstRound)}: health depools wait for every first verdict`);
  return notes;
}
