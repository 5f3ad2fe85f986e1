// gobgpd as a child of the LVS agent, so that the agent's death ends the BGP sessions and with them
// every route it announced:
//   - gobgpd is started through `setpriv --pdeathsig TERM`: the kernel sends it SIGTERM the moment
//     the agent process dies, however it dies (SIGKILL and OOM included). gobgpd then closes its
//     sessions (a BGP NOTIFICATION Cease), and routers drop its routes at once. If gobgpd dies hard
//     too, its TCP sessions are closed by the kernel, same effect. Only a frozen host (or a cut
//     link) keeps a session half-open; routers then drop it when the hold time runs out.
//   - it runs in its own process group (a terminal's Ctrl-C reaches the agent only, which then
//     withdraws in order and stops gobgpd itself);
//   - its API is a Unix socket in a private 0700 directory, not gobgpd's default TCP :50051, which
//     any local user could use to inject routes (the API has no authentication); pprof is disabled.
// If gobgpd exits on its own, it is restarted (backoff 1 s doubling to 30 s) and the speaker
// re-announces everything (onRestart).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BgpConfig } from './bgp-config.js';
import { BgpError, GobgpCli } from './bgp-gobgp.js';

export interface GobgpdOptions {
  config: BgpConfig;
  log: (event: string, fields: Record<string, unknown>) => void;
  /** Called after gobgpd was restarted and answers again (not after the first start). */
  onRestart: () => void;
  /** How long to wait for gobgpd's API after a start. Default 15 s. */
  readyTimeoutMs?: number;
}

/** gobgpd's configuration (its JSON form of the openconfig model). */
export function gobgpdConfig(c: BgpConfig): Record<string, unknown> {
  const families = [...(c.nexthopIpv4 ? ['ipv4-unicast'] : []), ...(c.nexthopIpv6 ? ['ipv6-unicast'] : [])];
  return {
    global: {
      config: {
        as: c.localAsn,
        'router-id': c.routerId,
        port: c.localPort,
        ...(c.localIps.length ? { 'local-address-list': c.localIps } : {}),
      },
    },
    neighbors: c.peers.map((peer) => ({
      config: { 'neighbor-address': peer, 'peer-as': c.peerAsn },
      // gobgpd otherwise waits 30 s after a session reset (idle-hold-time-after-reset) before it
      // reconnects: a router that restarted would get the VIPs back that much later.
      timers: {
        config: {
          'hold-time': c.holdTimeS, 'keepalive-interval': Math.max(1, Math.floor(c.holdTimeS / 3)),
          'connect-retry': c.connectRetryS, 'idle-hold-time-after-reset': c.connectRetryS,
        },
      },
      'afi-safis': families.map((f) => ({ config: { 'afi-safi-name': f } })),
    })),
  };
}

export class GobgpdProcess {
  private child: ChildProcess | undefined;
  private dir: string | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs = 1000;
  private restartCount = 0;
  private lastExit: string | undefined;
  private cliInstance: GobgpCli | undefined;

  constructor(private readonly opts: GobgpdOptions) {}

  get cli(): GobgpCli {
    if (!this.cliInstance) throw new BgpError('gobgpd is not started', {});
    return this.cliInstance;
  }

  /** gobgpd's API, for `gobgp --target <this> neighbor` by hand. */
  apiTarget(): string | undefined {
    return this.dir ? `unix://${join(this.dir, 'api.sock')}` : undefined;
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  restarts(): number {
    return this.restartCount;
  }

  lastExitReason(): string | undefined {
    return this.lastExit;
  }

  /** Writes the configuration, starts gobgpd and waits for its API. Throws BgpError if it does not come up. */
  async start(): Promise<void> {
    const c = this.opts.config;
    this.dir = await mkdtemp(join(c.runDir ?? tmpdir(), 'poold-gobgpd-'));
    await writeFile(join(this.dir, 'gobgpd.json'), `${JSON.stringify(gobgpdConfig(c), null, 2)}\n`, { mode: 0o600 });
    this.cliInstance = new GobgpCli({ path: c.gobgpPath, target: `unix://${join(this.dir, 'api.sock')}` });
    try {
      await this.spawnAndWait();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private argv(): string[] {
    const c = this.opts.config;
    const gobgpd = [
      c.gobgpdPath, '-f', join(this.dir!, 'gobgpd.json'), '-t', 'json',
      '--api-hosts', `unix://${join(this.dir!, 'api.sock')}`, '--pprof-disable', '-l', 'info', '-p',
    ];
    const netns = c.netns ? ['ip', 'netns', 'exec', c.netns] : [];
    return ['setpriv', '--pdeathsig', 'TERM', '--', ...netns, ...gobgpd];
  }

  private async spawnAndWait(): Promise<void> {
    // A gobgpd that was killed leaves its socket behind, and a new one cannot bind over it.
    await rm(join(this.dir!, 'api.sock'), { force: true });
    const [cmd, ...args] = this.argv();
    const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const tail: string[] = [];
    const onLine = (line: string) => {
      if (line.trim() === '') return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      this.opts.log('gobgpd', { line });
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let buf = '';
      stream.on('data', (b: Buffer) => {
        buf += b.toString('utf8');
        const lines = buf.split('\n');
        buf = lines.pop()!;
        lines.forEach(onLine);
      });
    }
    const exited = new Promise<string>((resolve) => {
      child.once('error', (e) => resolve(`cannot start: ${e.message}`));
      child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit ${code}`));
    });
    void exited.then((why) => this.onExit(child, why));
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 15_000);
    let lastErr: unknown;
    while (Date.now() < deadline) {
      const gone = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 100, undefined))]);
      if (gone !== undefined) {
        throw new BgpError(`gobgpd did not start (${gone}): ${tail.slice(-5).join(' | ') || 'no output'}`, { argv: this.argv() });
      }
      try {
        await this.cli.ping();
        this.opts.log('gobgpd-ready', { pid: child.pid });
        return;
      } catch (err) {
        lastErr = err;
      }
    }
    child.kill('SIGKILL');
    throw new BgpError(`gobgpd did not answer on its API within ${this.opts.readyTimeoutMs ?? 15_000} ms: ${(lastErr as Error | undefined)?.message ?? ''}`, { argv: this.argv() });
  }

  private onExit(child: ChildProcess, why: string): void {
    if (child !== this.child) return;
    this.lastExit = why;
    if (this.stopping) return;
    this.opts.log('gobgpd-exited', { pid: child.pid, why, restartInMs: this.backoffMs });
    this.restartTimer = setTimeout(() => void this.restart(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
  }

  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    if (this.stopping) return;
    this.restartCount++;
    try {
      await this.spawnAndWait();
      this.backoffMs = 1000;
      this.opts.onRestart();
    } catch (err) {
      // onExit already scheduled the next attempt when the child died; a hung one was killed above.
      this.opts.log('gobgpd-restart-failed', { error: (err as Error).message });
    }
  }

  /** Stops gobgpd (SIGTERM: it sends Cease to the routers; SIGKILL after 5 s) and removes its directory. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    // The child leads its own process group (detached): signal the group, which is gobgpd itself
    // (setpriv and `ip netns exec` exec into it, keeping the pid).
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal); // already gone, or no group: the direct signal is all there is to do
  }
}
