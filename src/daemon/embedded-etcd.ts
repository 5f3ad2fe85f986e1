// Single-machine mode: when no etcd endpoint is configured, poold runs etcd as its child, on
// loopback only, with data in ./var/etcd, so that `poolctl` reaches it at the default endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, createWriteStream } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { PooldError, UsageError } from '../model/errors.js';

export class EmbeddedEtcdError extends PooldError {}

/**
 * A port from the environment, e.g. POOLD_ETCD_PORT for the embedded etcd: the fixed defaults can be
 * taken (another poold, tests running in parallel).
 */
export function envPort(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`bad ${name}='${text}': expected a port number (0-65535)`);
  return n;
}

export interface EmbeddedEtcdOptions {
  dataDir?: string;
  clientPort?: number;
  etcdBinary?: string;
  /** How long to wait for etcd to answer /health. */
  startTimeoutMs?: number;
}

export interface EmbeddedEtcd {
  endpoint: string;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startEmbeddedEtcd(opts: EmbeddedEtcdOptions = {}): Promise<EmbeddedEtcd> {
  const dataDir = resolve(opts.dataDir ?? join('var', 'etcd'));
  const clientPort = opts.clientPort ?? 2379;
  mkdirSync(dataDir, { recursive: true });
  if (!(await portIsFree(clientPort))) {
    throw new EmbeddedEtcdError(
      `cannot start the embedded etcd: 127.0.0.1:${clientPort} is already in use. ` +
        `Point poold at that etcd with --etcd http://127.0.0.1:${clientPort}, or stop whatever listens there.`,
      { port: clientPort },
    );
  }
  // The peer port only matters for clustering; take the one next to the client port (2380 for
  // 2379) when free, so restarts keep the same URL and instances on other client ports (tests, a
  // second demo) do not all race for 2380.
  const preferredPeer = clientPort + 1;
  const peerPort = clientPort !== 0 && preferredPeer <= 65535 && (await portIsFree(preferredPeer)) ? preferredPeer : await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const logFile = join(dataDir, '..', 'etcd.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    opts.etcdBinary ?? 'etcd',
    [
      '--name', 'poold-embedded',
      '--data-dir', join(dataDir, 'data'),
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `poold-embedded=${peer}`,
      '--log-outputs', 'stderr',
    ],
    // Its own process group: Ctrl-C in the terminal reaches poold, which stops etcd last, instead of
    // killing etcd under a poold that is still resigning and revoking its lease.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  // Whatever way this process exits, etcd goes with it (a detached child would otherwise outlive it).
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const spawnFailed = new Promise<never>((_, rej) =>
    child.once('error', (err) => rej(new EmbeddedEtcdError(`cannot run etcd (${err.message}); install Debian's etcd-server`, { cause: err }))),
  );

  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    const state = await Promise.race([
      healthy(endpoint).then((ok) => (ok ? 'up' : 'wait')),
      exited.then(() => 'exited' as const),
      spawnFailed,
    ]);
    if (state === 'up') return { endpoint, dataDir, logFile, stop: () => stopChild(child, exited) };
    if (state === 'exited') throw new EmbeddedEtcdError(`embedded etcd exited during start; see ${logFile}`, { logFile });
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopChild(child, exited);
  throw new EmbeddedEtcdError(`embedded etcd did not become healthy within ${opts.startTimeoutMs ?? 15_000} ms; see ${logFile}`, { logFile });
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function healthy(endpoint: string): Promise<boolean> {
  return new Promise((res) => {
    const req = request(`${endpoint}/health`, { timeout: 1000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (body += c));
      r.on('end', () => res(r.statusCode === 200 && body.includes('"health":"true"')));
    });
    req.on('error', () => res(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}
