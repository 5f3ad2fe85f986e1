// Nagios plugin output (exit code + first line + perfdata + long output) for poold check runs, so that
// Icinga runs the very check code the daemon runs (`poolctl check ... --nagios`).
import type { CheckResult } from '../model/types.js';

export type NagiosExit = 0 | 1 | 2 | 3;
export const NAGIOS_STATES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

export interface NagiosOutput {
  exit: NagiosExit;
  /** Full plugin stdout: first line (with perfdata), then optional long output lines. */
  output: string;
}

/** One backend's check run, as runChecksOnce (src/checks/run-once.ts) returns it. */
export interface HostCheckRun {
  host: string;
  address: string;
  up: boolean;
  results: Array<{ check: string; result: CheckResult }>;
}

/** The worse of two states; UNKNOWN ranks between WARNING and CRITICAL, as Icinga orders them. */
export function worstExit(a: NagiosExit, b: NagiosExit): NagiosExit {
  const rank = [0, 1, 3, 2];
  return rank[a] >= rank[b] ? a : b;
}

/** Text safe for a plugin's first line: `|` starts perfdata and newlines start long output. */
export function pluginText(s: string): string {
  return s.replace(/\|/g, '/').replace(/\s*\n\s*/g, ' ').trim();
}

function perfLabel(name: string): string {
  const clean = name.replace(/['=]/g, '_');
  return /[\s]/.test(clean) ? `'${clean}'` : clean;
}

function perfSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s;;;0`;
}

export function resultExit(r: CheckResult): NagiosExit {
  if (!r.up) return 2;
  if (r.findings.some((f) => f.severity === 'critical')) return 2;
  if (r.findings.some((f) => f.severity === 'warning')) return 1;
  return 0;
}

function resultMessage(r: CheckResult): string {
  const findings = r.findings.map((f) => `${f.severity}: ${f.message}`);
  return [r.message, ...findings].join('; ');
}

export function nagiosUnknown(message: string): NagiosOutput {
  return { exit: 3, output: `POOLD UNKNOWN - ${pluginText(message)}` };
}

/** One backend: `POOLD <STATE> - <host> <check>: <message> | time=...s;;;0 <check>_time=...`. */
export function checkRunToNagios(run: HostCheckRun): NagiosOutput {
  if (run.results.length === 0) return nagiosUnknown(`${run.host}: no checks ran`);
  let exit = run.results.reduce<NagiosExit>((acc, r) => worstExit(acc, resultExit(r.result)), 0);
  // The first check in the worst state names the problem on the first line.
  const decisive = run.results.find((r) => resultExit(r.result) === exit) ?? run.results[0];
  // A server is up only if every check is up: the daemon's verdict wins over any per-check optimism.
  if (!run.up && exit < 2) exit = 2;
  const perf = [`time=${perfSeconds(Math.max(...run.results.map((r) => r.result.timings.totalMs)))}`];
  if (run.results.length > 1) {
    for (const r of run.results) perf.push(`${perfLabel(`${r.check}_time`)}=${perfSeconds(r.result.timings.totalMs)}`);
  }
  const first = `POOLD ${NAGIOS_STATES[exit]} - ${run.host} ${decisive.check}: ${pluginText(resultMessage(decisive.result))} | ${perf.join(' ')}`;
  const long = run.results.length > 1 ? run.results.map((r) => `${r.check}: ${NAGIOS_STATES[resultExit(r.result)]} - ${pluginText(resultMessage(r.result))}`) : [];
  return { exit, output: [first, ...long].join('\n') };
}

/** Several backends (a whole pool): the worst state decides; each backend gets a long-output line. */
export function checkRunsToNagios(runs: HostCheckRun[], pool: string): NagiosOutput {
  if (runs.length === 0) return nagiosUnknown(`${pool}: no backends to check`);
  if (runs.length === 1) return checkRunToNagios(runs[0]);
  const each = runs.map((r) => ({ run: r, out: checkRunToNagios(r) }));
  const exit = each.reduce<NagiosExit>((acc, e) => worstExit(acc, e.out.exit), 0);
  const bad = each.filter((e) => e.out.exit !== 0);
  const summary =
    bad.length === 0
      ? `${pool}: all ${runs.length} backends OK`
      : `${pool}: ${bad.length} of ${runs.length} backends not OK: ${bad.map((e) => e.out.output.split('\n')[0].replace(/^POOLD \w+ - /, '').replace(/ \|.*$/, '')).join('; ')}`;
  const perf = each.map((e) => `${perfLabel(`${e.run.host}_time`)}=${perfSeconds(Math.max(0, ...e.run.results.map((r) => r.result.timings.totalMs)))}`);
  // `<host>: <STATE> - <check>: <message>` (the host is not repeated from the per-host first line).
  const long = each.map((e) => `${e.run.host}: ${e.out.output.split('\n')[0].replace(/^POOLD /, '').replace(/ \|.*$/, '').replace(` - ${e.run.host} `, ' - ')}`);
  return { exit, output: [`POOLD ${NAGIOS_STATES[exit]} - ${pluginText(summary)} | ${perf.join(' ')}`, ...long].join('\n') };
}
