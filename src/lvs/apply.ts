// Running ipvsadm: read the table (`-S -n`) and apply commands (`-R`, commands on stdin), then read it
// back and check it holds what we asked for.
//
// ipvsadm -R keeps going after a kernel error (it prints e.g. "No such destination" and carries on
// with the next line) and its exit status is that of the *last* line, so a zero exit does not prove
// success. We therefore treat any stderr output as a failure too, and always verify by re-reading.
import { spawn } from 'node:child_process';
import { tableDifferences } from './diff.js';
import { IpvsadmError, LvsVerifyError } from './errors.js';
import { parseSave } from './parse.js';
import { renderCommand, type IpvsCommand } from './render.js';
import { findService, serverKey, type IpvsTable, type VirtualService, type VsId } from './table.js';

export const DEFAULT_IPVSADM_PATH = '/sbin/ipvsadm';

export interface IpvsadmOptions {
  /** Path of the ipvsadm binary (the recording stand-in in tests). */
  path: string;
  /** Kill ipvsadm after this long. Default 10 s. */
  timeoutMs?: number;
  /** Extra environment for the child (tests point the stand-in at its state file). */
  env?: NodeJS.ProcessEnv;
}

export interface IpvsadmRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
}

export function runIpvsadm(opts: IpvsadmOptions, args: string[], stdin?: string): Promise<IpvsadmRun> {
  const argv = [opts.path, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(opts.path, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 10_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // EPIPE when ipvsadm exits before reading all of stdin: its exit status tells the story.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new IpvsadmError(`cannot run ${opts.path}: ${e.message}`, { argv, exitCode: null, signal: null, stderr: '' }, { cause: e }));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const run = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode, signal };
      if (timedOut) {
        reject(new IpvsadmError(`${argv.join(' ')} timed out after ${opts.timeoutMs ?? 10_000} ms`, { argv, ...run }));
      } else resolve(run);
    });
    child.stdin.end(stdin ?? '');
  });
}

/** The current table, from `ipvsadm -S -n`. */
export async function readTable(opts: IpvsadmOptions): Promise<IpvsTable> {
  const args = ['-S', '-n'];
  const run = await runIpvsadm(opts, args);
  if (run.exitCode !== 0 || run.stderr.trim() !== '') {
    throw new IpvsadmError(`${opts.path} ${args.join(' ')} failed (exit ${run.exitCode ?? run.signal}): ${run.stderr.trim()}`, {
      argv: [opts.path, ...args],
      exitCode: run.exitCode,
      signal: run.signal,
      stderr: run.stderr,
    });
  }
  return parseSave(run.stdout);
}

/** True when `table` shows the effect of `cmd` (used to name the restore line that failed). */
export function commandTookEffect(cmd: IpvsCommand, table: IpvsTable): boolean {
  const vs = findService(table, cmd.vs);
  switch (cmd.op) {
    case 'add-service':
    case 'edit-service':
      return vs !== undefined && vs.scheduler === cmd.scheduler;
    case 'delete-service':
      return vs === undefined;
    case 'add-server':
    case 'edit-server': {
      const s = vs?.servers.find((r) => serverKey(r) === serverKey(cmd.server));
      return s !== undefined && s.weight === cmd.server.weight && s.method === cmd.server.method;
    }
    case 'delete-server':
      return vs !== undefined && !vs.servers.some((r) => serverKey(r) === serverKey(cmd.server));
  }
}

/** Feed `cmds` to `ipvsadm -R`. Throws IpvsadmError naming the first command that did not take effect. */
export async function applyCommands(opts: IpvsadmOptions, cmds: readonly IpvsCommand[]): Promise<void> {
  if (cmds.length === 0) return;
  const lines = cmds.map(renderCommand);
  const run = await runIpvsadm(opts, ['-R'], lines.map((l) => `${l}\n`).join(''));
  if (run.exitCode === 0 && run.stderr.trim() === '') return;
  let failedCommand: string | undefined;
  let readBack: unknown;
  try {
    const after = await readTable(opts);
    const idx = cmds.findIndex((c) => !commandTookEffect(c, after));
    if (idx >= 0) failedCommand = lines[idx];
  } catch (err) {
    // Without the table we cannot say which line failed; the error still carries all of them.
    readBack = err;
  }
  const where = failedCommand ? ` at "${failedCommand}"` : '';
  const unread = readBack ? ` (and reading the table back failed: ${(readBack as Error).message})` : '';
  throw new IpvsadmError(`${opts.path} -R failed${where} (exit ${run.exitCode ?? run.signal}): ${run.stderr.trim() || 'no message'}${unread}`, {
    argv: [opts.path, '-R'],
    exitCode: run.exitCode,
    signal: run.signal,
    stderr: run.stderr,
    failedCommand,
    commands: lines,
  });
}

/**
 * Apply, re-read, and verify that every desired service matches and every removed service is gone.
 * Returns the table read back. Throws LvsVerifyError listing the differences.
 */
export async function applyAndVerify(
  opts: IpvsadmOptions,
  cmds: readonly IpvsCommand[],
  desired: readonly VirtualService[],
  removed: readonly VsId[] = [],
): Promise<IpvsTable> {
  await applyCommands(opts, cmds);
  const after = await readTable(opts);
  const diffs = tableDifferences(after, desired, removed);
  if (diffs.length > 0) throw new LvsVerifyError(diffs);
  return after;
}
