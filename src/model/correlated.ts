// Issue 14 item 3: a correlated failure. When a large share of an LVS service's servers fail the SAME
// check within one check interval, the likely cause is the check (a check page that got expensive
// made every server fail at once) or a dependency they all share, not the servers. poold says so in
// /alerts (CRITICAL) and a metric; it does not change what is pooled (the threshold and a freeze do).
//
// "Within one interval": each down server's down transition time (its `since`) for that check. The
// servers of one service are checked staggered over one interval, so a cause that starts at T shows
// as transitions within one interval of each other (a timeout shifts them all alike); the window is
// one interval plus half an interval for scheduling jitter on a busy poold. At least three servers
// must fail together: two of a small service failing close together is too common to page for.
// Pure: state in, verdict out.
import type { CheckDef } from './types.js';
import { requiredCount } from './coordinator-threshold.js';

/** Default share of a service's servers that must fail one check together (pools/: correlated_failure_share). */
export const DEFAULT_CORRELATED_SHARE = 0.5;
/** Fewest servers that make a correlated failure, whatever the share. */
export const MIN_CORRELATED = 3;

export interface CorrelatedFailure {
  /** The check's name in the definition. */
  check: string;
  /** How it reads in the alert: `http /_info`, `tcp`, `command /usr/lib/nagios/...`. */
  label: string;
  failed: number;
  total: number;
  share: number;
  windowMs: number;
}

export interface FailingServer {
  host: string;
  /** Names of the checks this server currently fails. */
  checks: readonly string[];
  /** When it went down (epoch ms). */
  since: number;
}

export function checkLabel(c: CheckDef): string {
  switch (c.kind) {
    case 'http': return `http ${c.urls[0] ?? '/'}`;
    case 'command': return `command ${c.argv[0] ?? ''}`.trim();
    case 'dns': return `dns ${c.query}`;
    default: return c.kind;
  }
}

/**
 * The worst correlated failure among `checks`: the check whose failing servers, with down times inside
 * one window, are the most, if they are at least ceil(share × total) and at least three. Else undefined.
 */
export function correlatedFailure(o: { checks: readonly CheckDef[]; share: number; total: number; failing: readonly FailingServer[] }): CorrelatedFailure | undefined {
  const need = Math.max(MIN_CORRELATED, requiredCount(o.total, o.share));
  if (o.total < MIN_CORRELATED || o.share <= 0) return undefined;
  let best: CorrelatedFailure | undefined;
  for (const c of o.checks) {
    const windowMs = Math.round(c.intervalMs * 1.5);
    const times = o.failing.filter((s) => s.checks.includes(c.name)).map((s) => s.since).sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j] - times[i] > windowMs) i++;
      most = Math.max(most, j - i + 1);
    }
    if (most >= need && (best === undefined || most > best.failed)) {
      best = { check: c.name, label: checkLabel(c), failed: most, total: o.total, share: o.share, windowMs };
    }
  }
  return best;
}

/** `eqiad/foo_80: correlated failure: 8 of 10 servers failed check http /_info within 1 interval; ...` */
export function describeCorrelated(path: string, c: CorrelatedFailure): string {
  return `${path}: correlated failure: ${c.failed} of ${c.total} servers failed check ${c.label} within 1 interval; likely the check or a shared dependency, not the servers`;
}
