// Runs test/fixtures/confctl-v2.py: conftool's way of reading and writing etcd v2 (python-etcd,
// Debian's python3-etcd; .ci/bootstrap.mjs installs it): recursive directory reads that fail with
// "<path> is not a directory", and read-merge-json.dumps-update(prevIndex) writes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './poolctl.js';

export const CONFCTL_V2 = join(ROOT, 'test', 'fixtures', 'confctl-v2.py');

export interface ConfctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function confctlV2(args: string[], timeoutMs = 60_000): Promise<ConfctlResult> {
  return new Promise((resolve) => {
    execFile('/usr/bin/python3', [CONFCTL_V2, ...args], { timeout: timeoutMs, env: { PATH: '/usr/bin:/bin' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

// Never leave a writer behind when a test fails half-way (one hook for all of them).
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * Starts `confctl-v2.py incr ... barrier`: resolves `ready` once python-etcd is loaded and the
 * process waits; go() releases it. For writers that must really run at the same moment.
 */
export function confctlV2AtBarrier(args: string[]): { ready: Promise<void>; go(): void; done: Promise<ConfctlResult> } {
  const child = spawn('/usr/bin/python3', [CONFCTL_V2, ...args, 'barrier'], { env: { PATH: '/usr/bin:/bin' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>((r) => { markReady = r; });
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  const done = new Promise<ConfctlResult>((resolve) => {
    child.once('exit', (code) => {
      markReady();
      resolve({ code: code ?? 1, stdout: stdout.replace(/^ready\n/, ''), stderr });
    });
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return { ready, go: () => child.stdin.end('go\n'), done };
}
