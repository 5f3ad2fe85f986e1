// Issue 14 item 3: `poolctl freeze <dc/service>` suspends HEALTH-based depools of one LVS service for
// a while (a check or a shared dependency is broken, not the servers): servers that fail their
// checks stay pooled; admin changes still apply, and repools too. The freeze is a value in etcd
// (/poold/v1/freeze/<dc>/<name>, decoded in src/store/freeze.ts) with an absolute end time that
// poold and poolctl compare with their clocks, so a poold restart neither loses nor extends it.
// Pure: times are passed in.
import { PooldError } from './errors.js';

/** The longest freeze poolctl accepts: a forgotten freeze must not disable health depools for days. */
export const MAX_FREEZE_MS = 24 * 3_600_000;
/** The shortest freeze (below a second, the leader's timers and the audit log's seconds blur it). */
export const MIN_FREEZE_MS = 1000;

export class FreezeInputError extends PooldError {}

export interface Freeze {
  /** Epoch ms the freeze began (poolctl's clock). */
  since: number;
  /** Epoch ms the freeze ends by itself. */
  until: number;
  /** Who froze it (the audit actor). */
  actor: string;
  /** Why (required). */
  reason: string;
}

/** Whether health depools are frozen at `at`. */
export function freezeActive(f: Freeze | undefined, at: number): boolean {
  return f !== undefined && at < f.until;
}

/** A freeze as given to poolctl: checks the duration and reason; throws FreezeInputError with the fix. */
export function makeFreeze(o: { now: number; durationMs: number | null; durationText: string; actor: string; reason: string | undefined }): Freeze {
  if (o.durationMs === null) {
    throw new FreezeInputError(`bad duration '${o.durationText}' for --for: write it like 30m, 1h or 90s`, { duration: o.durationText });
  }
  if (o.durationMs < MIN_FREEZE_MS) throw new FreezeInputError(`--for ${o.durationText} is too short: at least 1s`, { durationMs: o.durationMs });
  if (o.durationMs > MAX_FREEZE_MS) {
    throw new FreezeInputError(`--for ${o.durationText} is too long: a freeze lasts at most 24h (run freeze again to extend it)`, { durationMs: o.durationMs });
  }
  const reason = o.reason?.trim() ?? '';
  if (reason === '') throw new FreezeInputError('freeze needs --reason "why" (it is shown in /alerts and the audit log)', {});
  return { since: o.now, until: o.now + o.durationMs, actor: o.actor, reason };
}

/** `frozen by alice until 2026-12-06T16:30:00Z: check page too slow` */
export function describeFreeze(f: Freeze): string {
  // Stryker disable next-line Regex: the regex without its `$` is equivalent: an ISO time has exactly one `.<digits>Z`, at its end
  return `health depools frozen by ${f.actor} until ${new Date(f.until).toISOString().replace(/\.\d+Z$/, 'Z')}: ${f.reason}`;
}
