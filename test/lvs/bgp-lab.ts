// A small routed network for the BGP tests, made of Linux network namespaces: one router namespace
// running BIRD 2, and LVS namespaces each joined to it by a veth pair:
//
//   lvs<i> (10.99.<i>.2, fd00:99:<i>::2) ── veth ── (10.99.<i>.1, fd00:99:<i>::1) router: BIRD, AS 65000,
//   one BGP session per LVS (IPv4 transport, IPv4 and IPv6 unicast)
//
// The LVS agents under test run gobgpd inside their LVS namespace (`--bgp-netns`). Everything is
// torn down by stop(), and also if this process dies: BIRD runs under `setpriv --pdeathsig KILL`,
// and namespaces left by a killed run (their name carries its pid) are removed by the next run.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROUTER_ASN = 65000;
export const LVS_ASN = 64600;
/**
 * BIRD's side of the hold time (the session uses the lower of both sides'). Long enough that a
 * withdrawal "at once" (a closed session) is clearly not a hold-timer expiry, even on a loaded machine.
 */
export const HOLD_S = 9;

const PREFIX = 'pdbgp';

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Namespaces named by a test run whose process is gone. */
function removeStale(): void {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of out.split('\n')) {
    const m = new RegExp(`^(${PREFIX}(\\d+)[a-z]\\d*)\\b`).exec(line);
    if (m && !alive(Number(m[2]))) spawnSync('ip', ['netns', 'del', m[1]!]);
  }
}

let probed: string | false | undefined;
/** false when `ip netns` works here; otherwise why not (the tests then skip with it). Checked once. */
export function netnsUnavailable(): string | false {
  if (probed !== undefined) return probed;
  const name = `${PREFIX}${process.pid}p`;
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (add.error || add.status !== 0) {
    probed = `ip netns is not permitted here (${add.error?.message ?? add.stderr.trim()}); the BGP namespace tests need root and CAP_SYS_ADMIN`;
    return probed;
  }
  spawnSync('ip', ['netns', 'del', name]);
  probed = false;
  return probed;
}

export interface BirdRoute {
  /** BIRD protocol name: lvs1, lvs2... */
  from: string;
  primary: boolean;
  med?: number;
  via?: string;
}

export interface Lab {
  router: string;
  lvs: Array<{ netns: string; address: string; address6: string; routerAddress: string; protocol: string }>;
  birdSocket: string;
  /** BIRD's routes for one prefix (all of them, the primary flagged). */
  routes(prefix: string): BirdRoute[];
  /** Protocol name → BIRD's state (`Established`, `Active`...). */
  sessions(): Record<string, string>;
  /** Polls `pred` every 50 ms; resolves with the elapsed ms, rejects after timeoutMs with `what`. */
  waitFor(what: string, pred: () => boolean, timeoutMs: number): Promise<number>;
  stop(): void;
}

export function parseBirdRoutes(text: string): BirdRoute[] {
  const out: BirdRoute[] = [];
  for (const line of text.split('\n')) {
    const head = /\s(?:unicast|blackhole|unreachable)\s+\[(\S+)\s[^\]]*\](\s\*)?/.exec(line);
    if (head) {
      out.push({ from: head[1]!, primary: head[2] !== undefined });
      continue;
    }
    const cur = out.at(-1);
    if (!cur) continue;
    const med = /^\s+BGP\.med:\s+(\d+)/.exec(line);
    if (med) cur.med = Number(med[1]);
    const via = /^\s+via\s+(\S+)/.exec(line);
    if (via) cur.via = via[1];
  }
  return out;
}

export async function startLab(lvsCount: number): Promise<Lab> {
  removeStale();
  const base = `${PREFIX}${process.pid}`;
  const router = `${base}r`;
  const created: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'poold-bgp-lab-'));
  let bird: ChildProcess | undefined;
  const stop = () => {
    if (bird?.pid !== undefined && bird.exitCode === null) {
      try {
        process.kill(bird.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const ns of created.reverse()) spawnSync('ip', ['netns', 'del', ns]);
    created.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    ip(['netns', 'add', router]);
    created.push(router);
    ip(['-n', router, 'link', 'set', 'lo', 'up']);
    const lvs: Lab['lvs'] = [];
    for (let i = 1; i <= lvsCount; i++) {
      const netns = `${base}l${i}`;
      ip(['netns', 'add', netns]);
      created.push(netns);
      ip(['-n', netns, 'link', 'set', 'lo', 'up']);
      // veth ends are created inside the namespaces directly: nothing appears in the host's.
      ip(['-n', router, 'link', 'add', `r${i}`, 'type', 'veth', 'peer', 'name', 'up0', 'netns', netns]);
      ip(['-n', router, 'addr', 'add', `10.99.${i}.1/24`, 'dev', `r${i}`]);
      ip(['-n', netns, 'addr', 'add', `10.99.${i}.2/24`, 'dev', 'up0']);
      // nodad: usable at once, no duplicate address detection delay.
      ip(['-n', router, 'addr', 'add', `fd00:99:${i}::1/64`, 'dev', `r${i}`, 'nodad']);
      ip(['-n', netns, 'addr', 'add', `fd00:99:${i}::2/64`, 'dev', 'up0', 'nodad']);
      ip(['-n', router, 'link', 'set', `r${i}`, 'up']);
      ip(['-n', netns, 'link', 'set', 'up0', 'up']);
      lvs.push({ netns, address: `10.99.${i}.2`, address6: `fd00:99:${i}::2`, routerAddress: `10.99.${i}.1`, protocol: `lvs${i}` });
    }
    const conf = [
      'router id 10.99.0.1;',
      'log stderr all;',
      'protocol device { scan time 1; }',
      // Fast timers so the tests measure the agent, not BIRD's back-off.
      ...lvs.map((l) => `protocol bgp ${l.protocol} { local ${l.routerAddress} as ${ROUTER_ASN}; neighbor ${l.address} as ${LVS_ASN}; ` +
        `hold time ${HOLD_S}; keepalive time 3; connect retry time 1; error wait time 1, 2; ipv4 { import all; export none; }; ipv6 { import all; export none; }; }`),
    ].join('\n');
    const confPath = join(dir, 'bird.conf');
    writeFileSync(confPath, `${conf}\n`);
    const birdSocket = join(dir, 'bird.ctl');
    bird = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'ip', 'netns', 'exec', router, 'bird', '-f', '-c', confPath, '-s', birdSocket, '-P', join(dir, 'bird.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let birdErr = '';
    bird.stderr!.on('data', (b: Buffer) => {
      birdErr = (birdErr + b.toString('utf8')).slice(-4000);
    });
    const birdc = (args: string[]) => {
      const r = spawnSync('birdc', ['-s', birdSocket, ...args], { encoding: 'utf8', timeout: 5000 });
      if (r.status !== 0) throw new Error(`birdc ${args.join(' ')}: ${r.stderr || r.stdout}`);
      return r.stdout;
    };
    const waitFor: Lab['waitFor'] = (what, pred, timeoutMs) =>
      new Promise((resolve, reject) => {
        const t0 = Date.now();
        const tick = () => {
          let ok: boolean;
          try {
            ok = pred();
          } catch {
            ok = false; // BIRD still starting: its socket is not there yet
          }
          if (ok) return resolve(Date.now() - t0);
          if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; BIRD log tail: ${birdErr.slice(-600)}`));
          setTimeout(tick, 50);
        };
        tick();
      });
    await waitFor('BIRD to answer', () => birdc(['show', 'status']).includes('Daemon is up'), 10_000);
    return {
      router,
      lvs,
      birdSocket,
      routes: (prefix) => {
        const r = spawnSync('birdc', ['-s', birdSocket, 'show', 'route', prefix, 'all'], { encoding: 'utf8', timeout: 5000 });
        // birdc exits 0 either way; "Network not found" is BIRD's answer for a prefix it has no route to.
        if (r.status !== 0 && !/Network not found/.test(r.stdout)) throw new Error(`birdc show route ${prefix}: ${r.stderr || r.stdout}`);
        return parseBirdRoutes(r.stdout);
      },
      sessions: () => {
        const out: Record<string, string> = {};
        for (const line of birdc(['show', 'protocols']).split('\n')) {
          const m = /^(lvs\d+)\s+BGP\s+\S+\s+\S+\s+\S+\s+(\S+)/.exec(line);
          if (m) out[m[1]!] = m[2]!;
        }
        return out;
      },
      waitFor,
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}

/** True while a process with this pid exists. */
export function processAlive(pid: number): boolean {
  return alive(pid);
}
