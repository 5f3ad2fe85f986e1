// Issue 14 in /v1/pools and /v1/pools/:dc/:name: the first round (`pending 3 of 10`, or `done`), a
// freeze in force (who, why, until when) and a correlated failure, from the published state.
import { describeFirstRound } from '../model/first-verdict.js';
import { freezeActive } from '../model/coordinator-freeze.js';
import type { PoolState } from '../model/types.js';

export const safetySchemaProperties = {
  firstRound: { type: 'string' },
  firstRoundWaiting: { type: 'array', items: { type: 'string' } },
  firstRoundDeadline: { type: ['integer', 'null'] },
  freeze: {
    type: ['object', 'null'],
    properties: { since: { type: 'integer' }, until: { type: 'integer' }, actor: { type: 'string' }, reason: { type: 'string' } },
  },
  correlatedFailure: {
    type: ['object', 'null'],
    properties: {
      check: { type: 'string' }, label: { type: 'string' }, failed: { type: 'integer' }, total: { type: 'integer' },
      share: { type: 'number' }, windowMs: { type: 'integer' },
    },
  },
} as const;

export function safetySummary(state: PoolState | null, nowMs: number) {
  const fr = state?.firstRound;
  return {
    firstRound: fr === undefined ? 'done' : describeFirstRound(fr),
    firstRoundWaiting: fr?.waiting ?? [],
    firstRoundDeadline: fr?.deadline ?? null,
    freeze: state?.freeze !== undefined && freezeActive(state.freeze, nowMs) ? state.freeze : null,
    correlatedFailure: state?.correlatedFailure ?? null,
  };
}
