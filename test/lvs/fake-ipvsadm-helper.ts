// Per-test sandbox for the recording ipvsadm stand-in: a private table file and invocation log.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IpvsadmOptions } from '../../src/lvs/apply.js';

export const FAKE_IPVSADM = resolve(fileURLToPath(import.meta.url), '../../fixtures/fake-ipvsadm');

export interface FakeLogEntry {
  argv: string[];
  stdin: string;
  exitCode: number;
  stderr: string;
  /** Wall-clock ms (fractional) when the stand-in process started and when it had applied. */
  startedAt: number;
  at: number;
}

export interface FakeIpvsadm {
  dir: string;
  /** The ipvsadm to run: a wrapper that execs the stand-in (see below). */
  path: string;
  statePath: string;
  logPath: string;
  opts: IpvsadmOptions;
  env: Record<string, string>;
  log(): FakeLogEntry[];
  /** The stdin lines of every `-R` invocation, in order. */
  restoreLines(): string[];
  clearLog(): void;
  /** Overwrite the stand-in's JSON table directly (no invocation is logged). */
  setRaw(state: unknown): void;
  /** Run the stand-in by hand, as an operator would (this is logged). */
  run(args: string[], stdin?: string): { status: number | null; stdout: string; stderr: string };
  cleanup(): void;
}

export function fakeIpvsadm(): FakeIpvsadm {
  const dir = mkdtempSync(join(tmpdir(), 'poold-lvs-'));
  const statePath = join(dir, 'ipvs.json');
  const logPath = join(dir, 'ipvsadm.log');
  const env = { FAKE_IPVSADM_STATE: statePath, FAKE_IPVSADM_LOG: logPath };
  // tap's process-info hook injects its loaders (NODE_OPTIONS) into every child process, which makes
  // each stand-in run take ~0.5 s instead of ~0.1 s. A one-line sh wrapper drops them; the stand-in
  // itself is unchanged. `path` is what tests hand to the code under test as the ipvsadm binary.
  const path = join(dir, 'ipvsadm');
  writeFileSync(path, `#!/bin/sh\nunset NODE_OPTIONS\nexec '${FAKE_IPVSADM}' "$@"\n`, { mode: 0o755 });
  const log = (): FakeLogEntry[] =>
    existsSync(logPath)
      ? readFileSync(logPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as FakeLogEntry)
      : [];
  return {
    dir,
    statePath,
    logPath,
    env,
    path,
    opts: { path, env },
    log,
    restoreLines: () => log().filter((e) => e.argv[0] === '-R').flatMap((e) => e.stdin.split('\n').filter((l) => l !== '')),
    clearLog: () => rmSync(logPath, { force: true }),
    setRaw: (state) => writeFileSync(statePath, JSON.stringify(state)),
    run: (args, stdin) => {
      const r = spawnSync(path, args, { input: stdin ?? '', env: { ...process.env, ...env }, encoding: 'utf8' });
      if (r.error) throw r.error;
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
