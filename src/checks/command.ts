// The command check kind: a Nagios plugin run per target.
//
// - argv is executed directly, never through a shell; `{host}`, `{address}`, `{port}` are substituted.
// - The environment is EMPTY: a plugin's verdict must not depend on poold's environment (proxies,
//   locale, credentials). No PATH is passed either: a bare argv[0] is looked up by poold itself in
//   the Nagios PluginDir, else by libuv's default search path (/usr/bin:/bin, used when PATH is
//   absent); /bin/sh and bash scripts fall back to their built-in default PATH.
// - `detached: true` makes the plugin a process-group leader. At the deadline the WHOLE group gets
//   SIGKILL (`process.kill(-pid)`), so grandchildren (a `sleep` the plugin spawned) die too. After a
//   normal exit the group is killed as well, as PyBal does, since leftovers are never wanted.
// - Exit 0 is up; anything else is down with `command_failed` and the plugin's first output line.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PooldError } from '../model/errors.js';
import type { CheckResult, CommandCheckDef, Finding } from '../model/types.js';
import type { Checker, CheckTarget } from './checker.js';
import { parsePluginOutput } from './nagios-output.js';
import { downResult, ms, upResult } from './result.js';

export const PLUGIN_DIR = '/usr/lib/nagios/plugins';
const MAX_OUTPUT = 64 * 1024;
const STATES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];

export class CommandChecker implements Checker {
  private readonly file: string;

  constructor(readonly def: CommandCheckDef) {
    if (def.argv.length === 0 || def.argv[0] === '') throw new PooldError(`command check ${def.name}: argv is empty`, { check: def.name });
    const bin = def.argv[0];
    this.file = !bin.includes('/') && existsSync(join(PLUGIN_DIR, bin)) ? join(PLUGIN_DIR, bin) : bin;
  }

  check(target: CheckTarget, deadline: number): Promise<CheckResult> {
    const started = performance.now();
    if (Date.now() >= deadline) return Promise.resolve(downResult('deadline', 'deadline passed before the check started', { totalMs: 0 }));
    const vars: Record<string, string> = { host: target.host, address: target.address, port: String(target.port) };
    const args = this.def.argv.slice(1).map((a) => a.replace(/\{(host|address|port)\}/g, (_, k: string) => vars[k]));
    return new Promise((resolve) => {
      const child = spawn(this.file, args, { env: {}, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      const findings: Finding[] = [];
      let settled = false;
      const timings = (): { totalMs: number } => ({ totalMs: ms(started, performance.now()) });

      const settle = (r: CheckResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };

      child.stdout.on('data', (d: Buffer) => {
        if (outBytes < MAX_OUTPUT) out.push(d);
        outBytes += d.length;
      });
      child.stderr.on('data', (d: Buffer) => {
        if (errBytes < MAX_OUTPUT) err.push(d);
        errBytes += d.length;
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        settle(downResult('command_failed', `cannot run ${this.file}: ${e.code ?? e.message}`, timings(), { argv: [this.file, ...args] }));
      });
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        if (child.pid === undefined) return;
        try {
          if (killGroup(child.pid)) {
            findings.push({ code: 'command_failed', message: 'plugin left processes running in its process group; they were killed', severity: 'warning' });
          }
        } catch (e) {
          findings.push({ code: 'command_failed', message: `cannot kill the plugin's leftover processes: ${(e as Error).message}`, severity: 'critical' });
        }
      });
      // 'close' (all output read) rather than 'exit', so the whole output is judged.
      child.on('close', () => {
        if (exit) settle(this.judge(exit, out, err, timings(), findings));
      });
      const timer = setTimeout(() => {
        if (exit) {
          // Exited, but an escaped descendant (new session) still holds the output pipe open.
          findings.push({ code: 'command_failed', message: 'a descendant outside the process group held the output open', severity: 'warning' });
          settle(this.judge(exit, out, err, timings(), findings));
          return;
        }
        let killError = '';
        try {
          if (child.pid !== undefined) killGroup(child.pid);
        } catch (e) {
          killError = ` (kill failed: ${(e as Error).message})`;
        }
        settle(
          downResult('command_timeout', `plugin timed out after ${Math.round(performance.now() - started)} ms; process group ${child.pid} killed${killError}`, timings(), {
            pid: child.pid,
            output: Buffer.concat(out).toString('utf8').slice(0, 1024),
          }),
        );
      }, Math.max(0, deadline - Date.now()));
    });
  }

  private judge(
    exit: { code: number | null; signal: NodeJS.Signals | null },
    out: Buffer[],
    err: Buffer[],
    timings: { totalMs: number },
    findings: Finding[],
  ): CheckResult {
    const parsed = parsePluginOutput(Buffer.concat(out).toString('utf8'));
    const stderr = Buffer.concat(err).toString('utf8').trim().slice(0, 1024);
    const detail: Record<string, unknown> = {
      exitCode: exit.code,
      state: exit.code !== null ? (STATES[exit.code] ?? 'UNKNOWN') : 'UNKNOWN',
      output: parsed.text,
      longOutput: parsed.longText,
      perfdata: parsed.perfdata,
    };
    if (exit.signal) detail.signal = exit.signal;
    if (stderr) detail.stderr = stderr;
    if (exit.code === 0) return upResult(parsed.text || 'exit 0', timings, detail, findings);
    const why = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
    const message = parsed.text || (stderr ? stderr.split('\n')[0] : '') || `${why} with no output`;
    return downResult('command_failed', message, timings, detail, findings);
  }
}

/** SIGKILLs a process group; true if it still had members. */
export function killGroup(pgid: number): boolean {
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}
