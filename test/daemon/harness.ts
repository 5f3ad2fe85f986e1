// Shared pieces of the daemon tests: pools YAML on disk synced with the real poolctl, in-process
// Daemons and real `poold` child processes against a private etcd, and polling HTTP reads.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Daemon, type DaemonOptions } from '../../src/daemon/daemon.js';
import { POOLD, runPoolctl, ROOT, type RunResult } from '../helpers/poolctl.js';

/** Errors only, on stderr, so tap's stdout stays TAP. POOLD_TEST_LOG=debug to see everything. */
export const testLog = pino({ level: process.env.POOLD_TEST_LOG ?? 'error', base: { name: 'poold-test' } }, pino.destination(2));

/**
 * A service block for pools/*.yaml with fast checks (every 300 ms, rise/fall 1) on `http://addr:port/`.
 * The timeout is long on purpose: failures here are refusals and bad bodies (immediate), and on a
 * machine shared by parallel test runs a 1 s timeout could call a healthy but starved backend down.
 */
export function serviceYaml(o: { name: string; cluster: string; ip: string; port: number; threshold: number; servers: Record<string, string>; interval?: string }): string {
  const servers = Object.entries(o.servers).map(([h, a]) => `      ${h}: { weight: 10${a === '' ? '' : `, address: ${a}`} }`).join('\n');
  return `  ${o.name}:
    cluster: ${o.cluster}
    lvs: { ip: ${o.ip}, port: ${o.port} }
    depool_threshold: ${o.threshold}
    checks:
      - kind: http
        path: /
        expect: { status: [200], body: { non_empty: true } }
        timeout: 3s
        interval: ${o.interval ?? '300ms'}
        rise: 1
        fall: 1
    servers:
${servers}
`;
}

export function poolsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'poold-daemon-test-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** `poolctl sync DIR --yes` as an operator runs it; throws with poolctl's stderr when it fails. */
export async function poolctl(args: string[], etcdUrl: string): Promise<RunResult> {
  const r = await runPoolctl(args, { POOLD_ETCD: etcdUrl });
  if (r.code !== 0) throw new Error(`poolctl ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

export async function startDaemon(endpoints: string[], o: Partial<DaemonOptions> & { observer: string }): Promise<Daemon> {
  const d = new Daemon({ etcd: { endpoints }, quorum: 'majority', host: '127.0.0.1', port: 0, leaseTtlSeconds: 2, log: testLog, ...o });
  await d.start();
  return d;
}

export async function text(url: string, init: RequestInit = {}): Promise<string> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return r.text();
}

export async function json<T = unknown>(url: string): Promise<T> {
  const r = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
  return (await r.json()) as T;
}

/** Sorted lines of a PyBal text body (host order is CPython's dict order, asserted in test/api). */
export function lines(body: string): string[] {
  return body.split('\n').filter((l) => l !== '').sort();
}

/**
 * Polls `read` until `ok` accepts its value; resolves to that value. On timeout rejects with the
 * last value seen, so a failing test says what it saw instead of "timed out".
 */
export async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}${lastErr ? `; last error: ${String(lastErr)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A real `poold` process (dist/), its API URL read from its "poold ready" log line. */
export interface PooldProcess {
  child: ChildProcess;
  url: string;
  observer: string;
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Spawns dist/src/daemon/poold.js. `wrap` prefixes the command (e.g. unshare to give the process
 * its own /etc/hosts); the process must still exec node so that its pid is poold's.
 */
export async function spawnPoold(etcdUrl: string, observer: string, extra: string[] = [], wrap?: (cmd: string[]) => string[]): Promise<PooldProcess> {
  const cmd = [process.execPath, POOLD, '--etcd', etcdUrl, '--observer', observer, '--listen', '127.0.0.1:0', '--lease-ttl', '2', '--log-level', 'info', ...extra];
  const [bin, ...args] = wrap ? wrap(cmd) : cmd;
  const child = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  // Never leave a poold behind, even when the test fails half-way.
  process.once('exit', () => child.kill('SIGKILL'));
  const url = await waitFor(`poold ${observer} to be ready`, async () => {
    if (child.exitCode !== null) throw new Error(`poold ${observer} exited ${child.exitCode}: ${out}`);
    const m = /"api":"(http:\/\/[^"]+)".*"poold ready"|"msg":"poold ready".*"api":"(http:\/\/[^"]+)"/.exec(out);
    return m ? (m[1] ?? m[2]) : '';
  }, (u) => u !== '', 20_000);
  return { child, url, observer, output: () => out, exited };
}

export async function stopPoold(p: PooldProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  await p.exited;
}
