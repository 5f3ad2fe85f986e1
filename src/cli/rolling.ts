// Rolling operations (MediaWiki backport incident: code and config out of step on every host at once).
// One host at a time: guard → depool → wait until poold no longer pools it → run the command →
// wait until its checks pass `rise` times in a row (the daemon's own check code) → repool → wait
// until poold pools it again → next. The first failure stops everything and leaves that host depooled.
import { spawn } from 'node:child_process';
import { killGroup } from '../checks/command.js';
import { runChecksOnce } from '../checks/run-once.js';
import { SafetyRefusal, UsageError } from '../model/errors.js';
import type { PoolState, ServiceDef } from '../model/types.js';
import { poolOf, servicePath } from '../model/types.js';
import { applyAdminChange } from './admin-change.js';
import { confirmAll, describeConfirmer, type Confirmer, type Unconfirmed } from './confirmers.js';
import type { CliContext } from './context.js';
import { applyDowntime } from './downtime.js';
import { guardChange } from './guard.js';
import { decodeAssembledState } from '../store/decode.js';
import { readAssembledStates } from '../store/state-layout.js';
import { loadServingOverPools, poolMembers, readInventory } from './inventory.js';

export type RollingStep = 'confirmers' | 'guard' | 'depool' | 'wait-depooled' | 'confirm-depooled' | 'command' | 'wait-healthy' | 'repool' | 'wait-pooled' | 'confirm-pooled';

export interface HostOutcome {
  host: string;
  status: 'done' | 'failed' | 'untouched';
  step?: RollingStep;
  error?: string;
  ms?: number;
  /** The confirmers that did not confirm the failed step (confirmers.ts), each with its problem. */
  unconfirmed?: Unconfirmed[];
}

export interface RollingSummary {
  pool: string;
  ok: boolean;
  hosts: HostOutcome[];
}

export interface RollingOptions {
  argv: string[];
  commandTimeoutMs: number;
  stateTimeoutMs: number;
  healthTimeoutMs: number;
  reason: string;
  downtimeMs?: number;
  progress: (line: string) => void;
  /** LVS agents and poold instances that must confirm every depool and repool (confirmers.ts). */
  confirmers?: Confirmer[];
  confirmTimeoutMs?: number;
}

class StepFailed extends Error {
  constructor(readonly step: RollingStep, message: string, readonly unconfirmed?: Unconfirmed[]) {
    super(message);
  }
}

/** Waits for every confirmer (none given: nothing to wait for); a missing one fails `step`. */
async function confirmStep(svc: ServiceDef, host: string, pooled: boolean | undefined, revision: number, o: RollingOptions, step: RollingStep): Promise<void> {
  const confirmers = o.confirmers ?? [];
  if (confirmers.length === 0) return;
  const timeoutMs = o.confirmTimeoutMs ?? 30_000;
  const missing = await confirmAll(confirmers, svc, host, pooled, revision, timeoutMs);
  if (missing.length === 0) {
    o.progress(`    ${pooled === undefined ? 'every confirmer answers' : `confirmed ${pooled ? 'back in' : 'out'} by ${confirmers.length} confirmer(s)`}`);
    return;
  }
  const what = pooled === undefined ? 'could not ask' : `${host} not confirmed ${pooled ? 'back in the pool' : 'out of the pool'} within ${timeoutMs} ms by`;
  throw new StepFailed(step, `${what} ${missing.map((m) => `${describeConfirmer(m)} (${m.problem})`).join('; ')}`, missing);
}

/** Splits a command line into argv the way a shell would for plain words and quotes; no shell runs it. */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote !== null) throw new UsageError(`unterminated ${quote} quote in command: ${text}`);
  if (inWord) out.push(cur);
  if (out.length === 0) throw new UsageError('empty --command');
  return out;
}

function substitute(argv: string[], vars: Record<string, string>): string[] {
  return argv.map((a) => a.replace(/\{(host|address|pool|dc|cluster|service)\}/g, (_m, k: string) => vars[k]));
}

/** Runs argv without a shell, in its own process group, killed as a group at the timeout. */
export function runCommand(argv: string[], timeoutMs: number): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) killGroup(child.pid);
      } catch (err) {
        output += `\n(kill failed: ${(err as Error).message})`;
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, output: err.message, timedOut: false });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim(), timedOut });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function publishedHost(ctx: CliContext, svc: ServiceDef, host: string): Promise<{ server: PoolState['servers'][string] | undefined; revision: number }> {
  const [a] = await readAssembledStates(ctx.kv, ctx.keys, [svc]);
  if (a === undefined) return { server: undefined, revision: -1 };
  const state = decodeAssembledState(a);
  return { server: state.servers[host], revision: state.revision };
}

/** Resolves with the revision of the published state that shows `host` as wanted. */
async function waitPublished(ctx: CliContext, svc: ServiceDef, host: string, pooled: boolean, timeoutMs: number, step: RollingStep): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { server: s, revision } = await publishedHost(ctx, svc, host);
    if (s !== undefined && s.pooled === pooled) return revision;
    if (Date.now() > until) {
      throw new StepFailed(step, `poold did not publish ${host} as ${pooled ? 'pooled' : 'not pooled'} within ${timeoutMs} ms` +
        (s === undefined ? ' (no published state for this pool: is poold running?)' : ` (published: ${s.pooled ? 'pooled' : 'not pooled'}, ${s.up ? 'up' : 'down'}: ${s.reason})`));
    }
    await sleep(100);
  }
}

async function waitHealthy(svc: ServiceDef, host: string, timeoutMs: number, progress: (l: string) => void): Promise<void> {
  const rise = Math.max(1, ...svc.checks.map((c) => c.rise));
  const interval = Math.min(...svc.checks.map((c) => c.intervalMs));
  const until = Date.now() + timeoutMs;
  let streak = 0;
  let last = '';
  while (streak < rise) {
    if (Date.now() > until) throw new StepFailed('wait-healthy', `${host} did not pass its checks ${rise} times in a row within ${timeoutMs} ms; last: ${last}`);
    const [report] = await runChecksOnce(svc, [host]);
    last = report.results.map((r) => `${r.check}: ${r.result.message}`).join('; ');
    streak = report.up ? streak + 1 : 0;
    progress(`    checks ${report.up ? 'pass' : 'fail'} (${streak}/${rise}): ${last}`);
    if (streak < rise) await sleep(interval);
  }
}

export async function rollingOperation(ctx: CliContext, svc: ServiceDef, hosts: string[], o: RollingOptions): Promise<RollingSummary> {
  const pool = servicePath(svc);
  const outcomes: HostOutcome[] = hosts.map((host) => ({ host, status: 'untouched' }));
  for (const [i, host] of hosts.entries()) {
    const started = Date.now();
    const outcome = outcomes[i];
    let step: RollingStep = 'guard';
    o.progress(`[${i + 1}/${hosts.length}] ${host}`);
    try {
      step = 'confirmers';
      // Every confirmer must answer before this host leaves the pool: one already gone stops the
      // operation with nothing changed.
      await confirmStep(svc, host, undefined, 0, o, step);
      step = 'guard';
      const inv = await readInventory(ctx);
      const entry = poolMembers(inv, poolOf(svc)).find((m) => m.host === host);
      if (entry === undefined) throw new StepFailed('guard', `${host} is not in ${pool} in etcd`);
      await loadServingOverPools(ctx, inv, [entry]);
      const guard = guardChange(inv, [entry], { pooled: 'no' });
      if (guard.refusals.length > 0) throw new StepFailed('guard', guard.refusals.join(' '));
      step = 'depool';
      o.progress('    depooling');
      const report = await applyAdminChange(ctx, inv, [entry], { pooled: 'no' }, { reason: o.reason, yes: true });
      if (o.downtimeMs !== undefined) for (const w of await applyDowntime(report, { schedule: o.downtimeMs }, ctx.actor, o.reason)) o.progress(`    warning: ${w}`);
      step = 'wait-depooled';
      const outRevision = await waitPublished(ctx, svc, host, false, o.stateTimeoutMs, step);
      step = 'confirm-depooled';
      await confirmStep(svc, host, false, outRevision, o, step);
      step = 'command';
      const argv = substitute(o.argv, { host, address: svc.servers[host]?.address ?? host, pool, dc: svc.dc, cluster: svc.pool.cluster, service: svc.pool.service });
      o.progress(`    running ${argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ')}`);
      const r = await runCommand(argv, o.commandTimeoutMs);
      if (r.timedOut) throw new StepFailed(step, `command timed out after ${o.commandTimeoutMs} ms (process group killed)`);
      for (const line of r.output.split('\n').filter(Boolean).slice(-10)) o.progress(`      | ${line}`);
      if (r.code !== 0) throw new StepFailed(step, `command exited ${r.code ?? 'abnormally'}${r.output ? `: ${r.output.split('\n').slice(-3).join(' | ')}` : ''}`);
      step = 'wait-healthy';
      await waitHealthy(svc, host, o.healthTimeoutMs, o.progress);
      step = 'repool';
      o.progress('    repooling');
      const inv2 = await readInventory(ctx);
      const entry2 = poolMembers(inv2, poolOf(svc)).find((m) => m.host === host);
      if (entry2 === undefined) throw new StepFailed(step, `${host} disappeared from ${pool} in etcd`);
      const repooled = await applyAdminChange(ctx, inv2, [entry2], { pooled: 'yes' }, { reason: o.reason, yes: true });
      if (o.downtimeMs !== undefined) for (const w of await applyDowntime(repooled, 'remove', ctx.actor, o.reason)) o.progress(`    warning: ${w}`);
      step = 'wait-pooled';
      const inRevision = await waitPublished(ctx, svc, host, true, o.stateTimeoutMs, step);
      step = 'confirm-pooled';
      await confirmStep(svc, host, true, inRevision, o, step);
      outcome.status = 'done';
      outcome.ms = Date.now() - started;
      o.progress(`    done in ${outcome.ms} ms`);
    } catch (err) {
      outcome.status = 'failed';
      outcome.step = err instanceof StepFailed ? err.step : step;
      outcome.error = (err as Error).message;
      if (err instanceof StepFailed && err.unconfirmed !== undefined) outcome.unconfirmed = err.unconfirmed;
      outcome.ms = Date.now() - started;
      o.progress(`    FAILED at ${outcome.step}: ${outcome.error}`);
      if (outcome.step === 'confirm-pooled') o.progress(`    ${host} is repooled in etcd but not confirmed back in everywhere; the remaining hosts were not touched`);
      else if (outcome.step !== 'confirmers' && outcome.step !== 'guard' && outcome.step !== 'depool') o.progress(`    ${host} is left depooled; the remaining hosts were not touched`);
      else o.progress(`    nothing was changed for ${host}; the remaining hosts were not touched`);
      if (err instanceof SafetyRefusal) outcome.step = 'guard';
      return { pool, ok: false, hosts: outcomes };
    }
  }
  return { pool, ok: true, hosts: outcomes };
}
