// What may hold a coordinator's HEALTH depools back, besides the threshold: an unfinished first round
// (first-verdict.ts) and an operator's freeze (coordinator-freeze.ts). While either holds, a server
// that is seen down keeps whatever pooling it had; everything else (repools, admin changes, the
// threshold's force-pooling) applies as usual. Both end by time, so the leader sends a `tick` event
// at the end (gateDeadline) and settling then depools what the threshold allows.
import type { CoordinatorEvent } from './coordinator-types.js';
import { freezeActive, type Freeze } from './coordinator-freeze.js';
import { extendFirstRound, firstRoundHolds, noteVerdict, forgetHost, type FirstRound } from './first-verdict.js';

export interface Gates {
  firstRound?: FirstRound;
  freeze?: Freeze;
}

/** The gates after one event; `added` are servers the event made pool members (a new conftool entry), `total` the members now. */
export function gatesAfter(g: Gates, event: CoordinatorEvent, added: readonly string[], total: number): Gates {
  let { firstRound, freeze } = g;
  switch (event.type) {
    case 'healthChanged':
      if (event.complete !== false) firstRound = noteVerdict(firstRound, event.host);
      break;
    case 'adminChanged':
      if (event.value === null || event.value.pooled === 'inactive') firstRound = forgetHost(firstRound, event.host);
      else firstRound = extendFirstRound(firstRound, added, total, event.at, event.firstRoundTimeoutMs ?? 0);
      break;
    case 'configChanged':
      firstRound = extendFirstRound(firstRound, added, total, event.at, event.firstRoundTimeoutMs ?? 0);
      break;
    case 'freezeChanged':
      freeze = event.freeze ?? undefined;
      break;
    // Stryker disable next-line ConditionalExpression,StringLiteral: a tick changes no gate; without this case it matches none and the switch does the same (nothing)
    case 'tick':
      break;
  }
  // Ended gates are dropped, so the published state stops showing them.
  // Stryker disable next-line ConditionalExpression: `firstRound !== undefined` as true is equivalent: firstRoundHolds(undefined) is false, so an absent round is set to undefined again
  if (firstRound !== undefined && !firstRoundHolds(firstRound, event.at)) firstRound = undefined;
  // Stryker disable next-line ConditionalExpression: `freeze !== undefined` as true is equivalent: freezeActive(undefined) is false, so an absent freeze is set to undefined again
  if (freeze !== undefined && !freezeActive(freeze, event.at)) freeze = undefined;
  return firstRound === g.firstRound && freeze === g.freeze ? g : { ...(firstRound ? { firstRound } : {}), ...(freeze ? { freeze } : {}) };
}

/** Whether health depools are held back at `at`. */
export function gatesHold(g: Gates, at: number): boolean {
  return firstRoundHolds(g.firstRound, at) || freezeActive(g.freeze, at);
}

/** The next time a gate ends by itself (the leader's timer), or undefined. */
export function gateDeadline(g: Gates): number | undefined {
  const ts = [g.firstRound?.deadline, g.freeze?.until].filter((t): t is number => t !== undefined);
  return ts.length === 0 ? undefined : Math.min(...ts);
}
