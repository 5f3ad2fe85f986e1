// One etcd process (one member), restartable on the same ports and data dir.
// Every process started here is registered so that nothing outlives the test process:
// a synchronous 'exit' hook SIGKILLs them, and a tiny shell watchdog (one per test process)
// SIGKILLs them and removes their temp dirs if the test process itself is SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env.POOLD_TEST_ETCD_BIN ?? '/usr/bin/etcd';
export const ETCDCTL_BIN = process.env.POOLD_TEST_ETCDCTL_BIN ?? '/usr/bin/etcdctl';

/** Client TLS material (PEM file paths and contents) for an etcd started with `tls: true`. */
export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: string;
  cert: string;
  key: string;
}

export interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  /** `name=http://127.0.0.1:peer,...` for every member. */
  initialCluster: string;
  dataDir: string;
  /** Server-side TLS for client URLs (the peer URLs stay plain http on loopback). */
  tls?: { caFile: string; certFile: string; keyFile: string; client: EtcdTlsFiles };
  heartbeatMs: number;
  electionMs: number;
  /** Also serve etcd's v2 API (`--enable-v2`; etcd 3.4/3.5 only): conftool 3.x and PyBal's etcd:// use it. */
  enableV2?: boolean;
  /**
   * A backend quota SMALLER than etcd's default, so a test can fill it and raise a real NOSPACE alarm
   * (test/daemon/etcd-nospace.test.ts alone). It can only make etcd stricter: a value at or above the
   * default is refused, and no other limit can be changed here.
   */
  smallBackendBytes?: number;
}

/** etcd's default backend quota (2 GiB). */
const ETCD_DEFAULT_BACKEND_BYTES = 2 * 1024 ** 3;

let rootDir: string | undefined;
const live = new Set<ChildProcess>();

/** The per-test-process temp root, created on first use, guarded by the exit hook and the watchdog. */
export function tempRoot(): string {
  if (rootDir !== undefined) return rootDir;
  // tmpfs when available: etcd fsyncs on every write and this etcd has no --unsafe-no-fsync.
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  rootDir = mkdtempSync(join(base, `poold-etcd-${process.pid}-`));
  const root = rootDir;
  process.on('exit', () => {
    for (const c of live) {
      try { c.kill('SIGKILL'); } catch { /* already gone: nothing to clean */ }
    }
    rmSync(root, { recursive: true, force: true });
  });
  const script =
    'while kill -0 "$0" 2>/dev/null; do sleep 1; done; ' +
    'for f in "$1"/*/pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done; rm -rf "$1"';
  const dog = spawn('/bin/sh', ['-c', script, String(process.pid), root], { detached: true, stdio: 'ignore' });
  dog.unref();
  return root;
}

/** A fresh directory under the temp root for one member (holds `data/`, `pid`, TLS files). */
export function memberDir(label: string): string {
  const dir = mkdtempSync(join(tempRoot(), `${label}-`));
  mkdirSync(join(dir, 'data'));
  return dir;
}

export class EtcdStartError extends Error {
  constructor(message: string, readonly addrInUse: boolean) {
    super(message);
    this.name = 'EtcdStartError';
  }
}

export class EtcdMember {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  constructor(readonly spec: MemberSpec, private readonly dir: string) {}

  get clientUrl(): string {
    return `${this.spec.tls ? 'https' : 'http'}://127.0.0.1:${this.spec.clientPort}`;
  }

  get peerUrl(): string {
    return `http://127.0.0.1:${this.spec.peerPort}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines etcd wrote, for failure messages. */
  recentLog(): string {
    return this.log;
  }

  private args(state: 'new' | 'existing'): string[] {
    const s = this.spec;
    const a = [
      `--name=${s.name}`,
      `--data-dir=${s.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${s.initialCluster}`,
      `--initial-cluster-state=${state}`,
      '--initial-cluster-token=poold-test',
      `--heartbeat-interval=${s.heartbeatMs}`,
      `--election-timeout=${s.electionMs}`,
      '--logger=zap',
      '--log-level=warn',
      '--snapshot-count=10000',
      // No limit flags at all: etcd's default limits (128 operations per transaction, 1.5 MiB per
      // request, a 2 GiB backend), as a site runs it. (This harness once had a smaller backend: the
      // eqiad bench filled it, which is how poold's unbounded history growth was found.)
    ];
    if (s.smallBackendBytes !== undefined) {
      if (!(Number.isInteger(s.smallBackendBytes) && s.smallBackendBytes > 0 && s.smallBackendBytes < ETCD_DEFAULT_BACKEND_BYTES)) {
        throw new Error(`smallBackendBytes ${s.smallBackendBytes}: only a quota below etcd's default (${ETCD_DEFAULT_BACKEND_BYTES}) may be set`);
      }
      a.push(`--quota-backend-bytes=${s.smallBackendBytes}`);
    }
    return [...a, ...this.optionalArgs()];
  }

  private optionalArgs(): string[] {
    const s = this.spec;
    const a: string[] = [];
    if (s.enableV2) a.push('--enable-v2=true');
    if (s.tls) {
      a.push(`--cert-file=${s.tls.certFile}`, `--key-file=${s.tls.keyFile}`,
        `--trusted-ca-file=${s.tls.caFile}`, '--client-cert-auth=true');
    }
    return a;
  }

  /** Spawns etcd (without waiting for health). */
  spawnProcess(): void {
    if (this.child) throw new Error(`etcd member ${this.spec.name} is already running`);
    if (!existsSync(ETCD_BIN)) {
      throw new Error(`etcd not found at ${ETCD_BIN}: install Debian's etcd-server (apt-get install -y etcd-server) or set POOLD_TEST_ETCD_BIN`);
    }
    // A data dir that already holds a member restarts it; the initial-cluster flags are then ignored.
    const hasData = existsSync(join(this.spec.dataDir, 'member'));
    this.log = '';
    const child = spawn(ETCD_BIN, this.args(hasData ? 'existing' : 'new'), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    live.add(child);
    if (child.pid !== undefined) writeFileSync(join(this.dir, 'pid'), String(child.pid));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.log = (this.log + chunk).slice(-8000);
    });
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        if (this.child === child) this.child = undefined;
        rmSync(join(this.dir, 'pid'), { force: true });
        resolve();
      });
      child.once('error', (err) => {
        this.log += `\nspawn ${ETCD_BIN} failed: ${err.message}`;
      });
    });
  }

  /** Polls /health until this member answers healthy; fails fast if the process exits. */
  async waitHealthy(timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    void this.exited.then(() => { gone = true; });
    while (Date.now() < deadline) {
      if (gone || !this.child) {
        const inUse = /address already in use/.test(this.log);
        throw new EtcdStartError(`etcd ${this.spec.name} exited during start-up:\n${this.log}`, inUse);
      }
      if (await this.healthy()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new EtcdStartError(`etcd ${this.spec.name} not healthy after ${timeoutMs} ms:\n${this.log}`, false);
  }

  /** One GET /health; true when the member has a leader and serves reads. */
  healthy(): Promise<boolean> {
    const tls = this.spec.tls;
    return new Promise((resolve) => {
      const opts = {
        host: '127.0.0.1', port: this.spec.clientPort, path: '/health', method: 'GET', timeout: 1000,
        ...(tls ? { ca: tls.client.ca, cert: tls.client.cert, key: tls.client.key } : {}),
      };
      const req = (tls ? httpsRequest : httpRequest)(opts, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
        res.on('error', () => resolve(false));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  }

  async start(): Promise<void> {
    this.spawnProcess();
    await this.waitHealthy();
  }

  /** Graceful stop (SIGTERM); keeps the data dir so restart() can bring the member back. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Abrupt death (SIGKILL), as in a crash. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async restart(): Promise<void> {
    if (this.child) await this.stop();
    await this.start();
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = this.exited;
    child.kill(sig);
    const escalate = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(escalate);
  }
}

export function readPem(path: string): string {
  return readFileSync(path, 'utf8');
}
