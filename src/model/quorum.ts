// Deciding a host's health from the observations of several poold instances (observers).
//
// Choices (documented for the daemon and for operators):
// - Only observations of LIVE observers count (their lease still exists); an observation left behind by
//   a dead observer must not vote. Optionally, observations older than `maxAgeMs` do not vote either.
// - The electorate is the live observers that have observed this host. An observer that has not checked
//   the host yet (just started) is not a "down" vote.
// - quorum 'majority': down only when MORE than half of the electorate sees the host down; a tie
//   (1–1 with two observers) is up. Depooling is the drastic action, so one observer that cannot reach
//   a backend (its own network problem as likely as the backend's) must not outvote one that can.
//   quorum N: up when at least N see it up; with fewer than N voters, all of them must (min(N, voters)),
//   so a lone surviving observer still decides instead of freezing every host down.
// - No live observation at all: keep the previous verdict (fail-static); with no previous verdict there
//   is nothing to decide and the result is null (the coordinator then keeps assuming up, as PyBal).
// - The reason names the dissenting observers, so a split view is visible in /pools and the dashboard.
import { PooldError } from './errors.js';
import type { Finding, Observation, ReasonCode } from './types.js';
import { byName } from './order.js';

export class QuorumInputError extends PooldError {}

export type QuorumSetting = 'majority' | number;

export type QuorumObservation = Pick<Observation, 'observer' | 'up' | 'reason' | 'at'> &
  Partial<Pick<Observation, 'code' | 'flapping' | 'checks'>>;

export interface QuorumOptions {
  quorum?: QuorumSetting;
  /** With maxAgeMs: observations older than now - maxAgeMs do not vote. */
  now?: number;
  maxAgeMs?: number;
}

export interface HealthVerdict {
  up: boolean;
  reason: string;
  code: ReasonCode;
  /** Latest time among the votes (the previous verdict's time when not decided). */
  at: number;
  flapping: boolean;
  findings: Finding[];
  /** False when no live observation existed and the previous verdict was kept. */
  decided: boolean;
  /** Observers that voted, by name. */
  upVotes: string[];
  downVotes: string[];
  /** Up votes that were needed. */
  needed: number;
}

/** What the caller knew before (fail-static). */
export type PreviousVerdict = Pick<HealthVerdict, 'up' | 'reason'> & Partial<Pick<HealthVerdict, 'code' | 'at' | 'flapping' | 'findings'>>;

export function checkQuorum(quorum: unknown): QuorumSetting {
  if (quorum === 'majority') return quorum;
  if (
    (
      // Stryker disable next-line ConditionalExpression: the typeof operand becoming true is equivalent, it only narrows the type for TypeScript and Number.isInteger rejects every non-number
      typeof quorum === 'number'
    ) &&
    Number.isInteger(quorum) &&
    quorum >= 1
  ) return quorum;
  throw new QuorumInputError(`quorum must be 'majority' or an integer >= 1, got ${JSON.stringify(quorum)}`, { quorum });
}

/** Up votes needed among `voters` observers. */
export function votesNeeded(quorum: QuorumSetting, voters: number): number {
  // Down needs a strict majority of down votes, so up needs the rest: ceil(voters / 2).
  if (quorum === 'majority') return voters - Math.floor(voters / 2);
  return Math.min(quorum, voters);
}


/** One vote per live observer: the latest observation; on equal times a down one (the cautious one). */
function votes(observations: readonly QuorumObservation[], live: ReadonlySet<string>, opts: QuorumOptions): QuorumObservation[] {
  // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, with now or maxAgeMs undefined, now - maxAgeMs is NaN and `at < NaN` is false, so nothing is filtered, as with -Infinity (the `false` mutant is killed; Stryker disables per mutator and line)
  const oldest = opts.now !== undefined && opts.maxAgeMs !== undefined ? opts.now - opts.maxAgeMs : -Infinity;
  const latest = new Map<string, QuorumObservation>();
  for (const o of observations) {
    if (!live.has(o.observer) || o.at < oldest) continue;
    const cur = latest.get(o.observer);
    if (cur === undefined || o.at > cur.at || (o.at === cur.at && cur.up && !o.up)) latest.set(o.observer, o);
  }
  return [...latest.values()].sort((a, b) => byName(a.observer, b.observer));
}

/** `refused`, or `a: refused; b: reset` when the observers disagree on why. */
function combinedReason(vs: readonly QuorumObservation[]): string {
  const distinct = [...new Set(vs.map((v) => v.reason))];
  // Stryker disable next-line StringLiteral: equivalent, never reached: the reason is never built from an empty list (winners, or all votes, are never empty)
  if (distinct.length <= 1) return distinct[0] ?? '';
  return vs.map((v) => `${v.observer}: ${v.reason}`).join('; ');
}

function findingsOf(vs: readonly QuorumObservation[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const v of vs) {
    for (const name of Object.keys(v.checks ?? {}).sort()) {
      // Stryker disable next-line OptionalChaining: equivalent, name comes from the keys of v.checks, so v.checks is defined here, and each check is an object (store/decode.ts decodeObservation refuses any other value)
      for (const f of v.checks?.[name]?.findings ?? []) {
        const k = `${f.severity}\u0000${f.code}\u0000${f.message}`;
        if (!seen.has(k)) {
          seen.add(k);
          out.push(f);
        }
      }
    }
  }
  return out;
}

export function decideHealth(
  observations: readonly QuorumObservation[],
  liveObservers: Iterable<string>,
  previous?: PreviousVerdict,
  opts: QuorumOptions = {},
): HealthVerdict | null {
  const quorum = checkQuorum(opts.quorum ?? 'majority');
  const vs = votes(observations, new Set(liveObservers), opts);
  if (vs.length === 0) {
    if (previous === undefined) return null;
    return {
      up: previous.up,
      reason: previous.reason,
      code: previous.code ?? (previous.up ? 'ok' : 'error'),
      at: previous.at ?? 0,
      flapping: previous.flapping ?? false,
      findings: previous.findings ?? [],
      decided: false,
      upVotes: [],
      downVotes: [],
      needed: 0,
    };
  }
  const ups = vs.filter((v) => v.up);
  const downs = vs.filter((v) => !v.up);
  const needed = votesNeeded(quorum, vs.length);
  const up = ups.length >= needed;
  const winners = up ? ups : downs;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, the winners are never empty: up needs at least one up vote (votesNeeded >= 1 with voters), and with no down vote the verdict is up (the `false` and `<=` mutants are killed; Stryker disables per mutator and line)
  let reason = combinedReason(winners.length > 0 ? winners : vs);
  if (up && downs.length > 0) {
    reason += ` (up on ${ups.length} of ${vs.length} observers; dissenting: ${downs.map((d) => `${d.observer}: ${d.reason}`).join(', ')})`;
  } else if (!up && ups.length > 0) {
    reason += ` (${ups.length} of ${vs.length} observers see it up, ${needed} needed; dissenting: ${ups.map((u) => u.observer).join(', ')})`;
  }
  const code: ReasonCode = up ? 'ok' : (downs.find((d) => d.code !== undefined)?.code ?? 'error');
  return {
    up,
    reason,
    code,
    at: Math.max(...vs.map((v) => v.at)),
    flapping: vs.some((v) => v.flapping === true),
    findings: findingsOf(vs),
    decided: true,
    upVotes: ups.map((v) => v.observer),
    downVotes: downs.map((v) => v.observer),
    needed,
  };
}
