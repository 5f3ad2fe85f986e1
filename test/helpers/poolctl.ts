// Runs the compiled poolctl (npm test builds first) as an operator would: a child process, no TTY.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const POOLCTL = join(ROOT, 'dist', 'src', 'cli', 'poolctl.js');
export const POOLD = join(ROOT, 'dist', 'src', 'daemon', 'poold.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runPoolctl(args: string[], env: Record<string, string> = {}, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  if (!existsSync(POOLCTL)) throw new Error(`${POOLCTL} is missing: run 'npm run build' (npm test does) first`);
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [POOLCTL, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', USER: 'tester', ...env },
      timeout: opts.timeoutMs ?? 30_000,
    }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end();
  });
}
