// Talking to gobgpd through its own CLI, `gobgp`, run with argv (never a shell).
//
// Why the CLI and not gRPC (@grpc/grpc-js with gobgp's .proto files): the CLI comes in the same
// Debian package as gobgpd, so it always speaks the daemon's API version; the .proto files are not
// packaged, and vendoring them would copy another project's code into this one; and it adds no
// dependency. What it costs is one short process per operation (~20 ms), and an LVS host changes
// a few VIPs at a time: a full announcement of 100 VIPs is about 2 s, once, at start.
// gRPC would not help with the one thing that matters most, routes dying with the agent: gobgpd
// keeps API-added paths after the client's stream ends. That is handled by owning the daemon
// (bgp-daemon.ts) instead.
import { spawn } from 'node:child_process';
import { PooldError } from '../model/errors.js';
import type { Announcement, BgpFamily } from './bgp-plan.js';

/** gobgp/gobgpd failed or answered something we cannot read. */
export class BgpError extends PooldError {}

export interface RibPath {
  prefix: string;
  family: BgpFamily;
  nexthop?: string;
  med?: number;
}

export interface NeighborState {
  address: string;
  /** gobgp's session state name: idle, connect, active, opensent, openconfirm, established, unknown. */
  state: string;
  established: boolean;
}

const SESSION_STATES = ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BgpError(`${what}: gobgp printed something that is not JSON (${(err as Error).message}): ${text.slice(0, 200)}`, { what });
  }
}

/**
 * `gobgp global rib -a <family> -j` → the paths this gobgpd originated (added through the API).
 * Paths learnt from a router carry `neighbor-ip` and are not ours: they are left out.
 */
export function parseRib(text: string, family: BgpFamily): RibPath[] {
  const o = parseJson(text.trim() === '' ? '{}' : text, `rib ${family}`);
  if (!isObj(o)) throw new BgpError(`rib ${family}: expected a JSON object of prefixes`, { family });
  const out: RibPath[] = [];
  for (const [prefix, paths] of Object.entries(o)) {
    if (!Array.isArray(paths)) throw new BgpError(`rib ${family}: paths of ${prefix} are not a list`, { family, prefix });
    for (const p of paths) {
      if (!isObj(p)) continue;
      if (p['neighbor-ip'] !== undefined || p['source-id'] !== undefined) continue;
      const path: RibPath = { prefix, family };
      for (const a of Array.isArray(p.attrs) ? p.attrs : []) {
        if (!isObj(a)) continue;
        // Path attribute type codes (RFC 4271, RFC 4760): 3 NEXT_HOP, 4 MULTI_EXIT_DISC, 14 MP_REACH_NLRI.
        if ((a.type === 3 || a.type === 14) && typeof a.nexthop === 'string') path.nexthop = a.nexthop;
        if (a.type === 4 && typeof a.metric === 'number') path.med = a.metric;
      }
      out.push(path);
    }
  }
  return out;
}

/** `gobgp neighbor -j` → each router's session state. */
export function parseNeighbors(text: string): NeighborState[] {
  const o = parseJson(text.trim() === '' ? '[]' : text, 'neighbor');
  if (!Array.isArray(o)) throw new BgpError('neighbor: expected a JSON list', {});
  return o.filter(isObj).map((n) => {
    const st = isObj(n.state) ? n.state : {};
    const conf = isObj(n.conf) ? n.conf : {};
    const address = String(st.neighbor_address ?? conf.neighbor_address ?? '?');
    const code = typeof st.session_state === 'number' ? st.session_state : 0;
    const state = SESSION_STATES[code] ?? 'unknown';
    return { address, state, established: state === 'established' };
  });
}

export interface GobgpCliOptions {
  /** The gobgp binary. */
  path: string;
  /** gobgpd's API, e.g. `unix:///run/.../api.sock`. */
  target: string;
  /** Kill a gobgp run after this long. Default 10 s. */
  timeoutMs?: number;
}

export class GobgpCli {
  constructor(private readonly opts: GobgpCliOptions) {}

  run(args: string[]): Promise<string> {
    const argv = ['--target', this.opts.target, ...args];
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const child = spawn(this.opts.path, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new BgpError(`cannot run ${this.opts.path}: ${e.message}`, { argv }, { cause: e }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const stderr = Buffer.concat(err).toString('utf8').trim();
        const stdout = Buffer.concat(out).toString('utf8');
        if (code === 0) return resolve(stdout);
        const why = signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : `exit ${code ?? signal}`;
        reject(new BgpError(`${this.opts.path} ${args.join(' ')} failed (${why}): ${stderr || stdout.trim() || 'no message'}`, { argv, code, signal, stderr }));
      });
    });
  }

  /** Resolves when gobgpd answers on its API. */
  async ping(): Promise<void> {
    await this.run(['global', '-j']);
  }

  async rib(family: BgpFamily): Promise<RibPath[]> {
    return parseRib(await this.run(['global', 'rib', '-a', family, '-j']), family);
  }

  /** Adds (or replaces: gobgpd keeps one local path per prefix) the path for a VIP. Origin IGP, as PyBal. */
  async announce(a: Announcement): Promise<void> {
    await this.run(['global', 'rib', 'add', '-a', a.family, a.prefix, 'nexthop', a.nexthop, 'med', String(a.med), 'origin', 'igp']);
  }

  async withdraw(prefix: string, family: BgpFamily): Promise<void> {
    await this.run(['global', 'rib', 'del', '-a', family, prefix]);
  }

  async neighbors(): Promise<NeighborState[]> {
    return parseNeighbors(await this.run(['neighbor', '-j']));
  }
}
