// pybal.conf sections for a PyBal that applies poold's decision and decides nothing itself.
//
// PyBal 1.15 pools a server when `enabled and up` (Coordinator.refreshModifiedServers, run on every
// change of its server list), with `up` = the AND of its monitors (Server.calcStatus). poold serves
// `enabled` = its effective state (admin, health and threshold applied). So PyBal applies exactly
// poold's decision only when `up` is always true:
// - PyBal's own health checks would AND a second opinion in, and its depool threshold would be
//   skipped on list changes (the issue: PyBal emptied pools poold kept serving);
// - NO monitor does not work either: calcStatus() starts its AND from `len(monitors) != 0`, so an
//   empty list makes every server down at the first list change, and PyBal drops them all.
// The section therefore has one monitor that always passes: RunCommand running /bin/true.
// Limits, from PyBal's code: a monitor's first result comes `interval` seconds after the server is
// created (PyBal start, or a host added to the list); a list change inside that window unpools the
// servers not yet checked until their first check. A check killed at `timeout` counts as down.
import type { ServiceDef } from '../model/types.js';
import type { PybalServiceConf } from './pybal-parse.js';

export const DRIVEN_COMMAND = '/bin/true';
/** Ignored by true(1); names the purpose in `ps` and PyBal's logs. */
export const DRIVEN_ARGUMENT = 'poold-driven';
/** Seconds between runs of /bin/true per server: the start-up window above, against a fork per run. */
export const DEFAULT_DRIVEN_INTERVAL_S = 10;
/** Long: a check PyBal kills is a down result, which poold's list would not explain. */
export const DRIVEN_TIMEOUT_S = 300;

export interface DrivenOptions {
  intervalS?: number;
}

/** The monitor lines of a driven section (after `config =` and `depool-threshold =`). */
export function drivenMonitorLines(opts: DrivenOptions = {}): string[] {
  const interval = opts.intervalS ?? DEFAULT_DRIVEN_INTERVAL_S;
  if (!Number.isInteger(interval) || interval < 1) throw new RangeError(`driven monitor interval must be a whole number of seconds >= 1, got ${interval}`);
  return [
    'monitors = [ "RunCommand" ]',
    `runcommand.command = ${DRIVEN_COMMAND}`,
    `runcommand.arguments = [ '${DRIVEN_ARGUMENT}' ]`,
    `runcommand.interval = ${interval}`,
    `runcommand.timeout = ${DRIVEN_TIMEOUT_S}`,
  ];
}

export function drivenComment(svc: ServiceDef): string {
  return `# driven by poold: PyBal pools what poold's list enables (its one monitor, ${DRIVEN_COMMAND}, always passes); poold checks ${svc.checks.map((c) => c.name).join(', ') || 'nothing'}`;
}

/** A section rendered by drivenMonitorLines: only the always-passing monitor. */
export function isDrivenSection(p: PybalServiceConf): boolean {
  return p.monitors.length === 1 && p.monitors[0] === 'RunCommand' && p.runcommand?.command === DRIVEN_COMMAND;
}
