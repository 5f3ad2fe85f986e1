// Many simulated backends in one process, one listener each on its own 127.x.y.z address
// (Linux routes all of 127/8 to lo). Behaviours can be changed at runtime.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { NotFoundError, PooldError, UsageError } from '../model/errors.js';
import { isBehaviour, type BackendSpec, type Behaviour, type BehaviourOptions } from './behaviours.js';
import { serveConnection, type BackendCounters } from './responder.js';
import { makeSelfSigned, type SelfSigned } from './tls-cert.js';

export interface BackendStats extends BackendCounters {
  address: string;
  port: number;
  behaviour: Behaviour;
}

export interface Simulator {
  setBehaviour(address: string, port: number, behaviour: Behaviour, options?: BehaviourOptions): Promise<void>;
  /** One backend's counters, or totals over all backends. */
  stats(address: string, port: number): BackendStats;
  totals(): BackendCounters & { backends: number };
  list(): BackendStats[];
  /** The self-signed certificate used by bad-tls (made on first use). */
  certPath(): string | undefined;
  stop(): Promise<void>;
}

interface Backend {
  address: string;
  port: number;
  behaviour: Behaviour;
  options: BehaviourOptions;
  server: net.Server | null;
  counters: BackendCounters;
  sockets: Set<net.Socket>;
  flapSince: number;
}

export async function startSimulator(opts: { backends: BackendSpec[] }): Promise<Simulator> {
  const backends = new Map<string, Backend>();
  const timers = new Set<NodeJS.Timeout>();
  let cert: SelfSigned | undefined;
  let secureContext: tls.SecureContext | undefined;

  const keyOf = (address: string, port: number): string => `${address}:${port}`;

  function tlsContext(): tls.SecureContext {
    if (!secureContext) {
      cert = makeSelfSigned();
      secureContext = tls.createSecureContext({ cert: cert.cert, key: cert.key });
    }
    return secureContext;
  }

  function flapFailing(b: Backend): boolean {
    const every = b.options.flapEvery ?? { requests: 5 };
    if (every.seconds) return Math.floor((Date.now() - b.flapSince) / (every.seconds * 1000)) % 2 === 1;
    // counters.requests already includes the current request.
    return Math.floor((b.counters.requests - 1) / (every.requests ?? 5)) % 2 === 1;
  }

  function onConnection(b: Backend, raw: net.Socket): void {
    b.counters.connections++;
    b.counters.open++;
    b.sockets.add(raw);
    raw.once('close', () => {
      b.counters.open--;
      b.sockets.delete(raw);
    });
    const behaviour = b.behaviour;
    const ctx = { behaviour, options: b.options, address: b.address, counters: b.counters, flapFailing: () => flapFailing(b), timers };
    if (behaviour === 'bad-tls') {
      raw.on('error', () => undefined);
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: tlsContext() });
      serveConnection(secure, ctx);
    } else {
      serveConnection(raw, ctx);
    }
  }

  async function listen(b: Backend): Promise<void> {
    const server = net.createServer((s) => onConnection(b, s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new PooldError(`simulator: cannot listen on ${keyOf(b.address, b.port)}: ${err.message}`, { address: b.address, port: b.port }, { cause: err })),
      );
      server.listen({ host: b.address, port: b.port, backlog: 511 }, () => resolve());
    });
    server.on('error', () => undefined);
    b.server = server;
    if (b.port === 0) {
      // Port 0 asks for any free port; record it so the caller can find the backend.
      const port = (server.address() as net.AddressInfo).port;
      backends.delete(keyOf(b.address, 0));
      b.port = port;
      backends.set(keyOf(b.address, port), b);
    }
  }

  async function unlisten(b: Backend): Promise<void> {
    const server = b.server;
    b.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  function get(address: string, port: number): Backend {
    const b = backends.get(keyOf(address, port));
    if (!b) throw new NotFoundError(`simulator: no backend ${keyOf(address, port)}`, { address, port });
    return b;
  }

  /** The behaviour options a spec sets; options it leaves out are absent, so a merge keeps the old ones. */
  function options(spec: BehaviourOptions): BehaviourOptions {
    const o: BehaviourOptions = {};
    if (spec.service !== undefined) o.service = spec.service;
    if (spec.delayMs !== undefined) o.delayMs = spec.delayMs;
    if (spec.trickleMs !== undefined) o.trickleMs = spec.trickleMs;
    if (spec.flapEvery !== undefined) o.flapEvery = spec.flapEvery;
    if (spec.anyPath !== undefined) o.anyPath = spec.anyPath;
    return o;
  }

  async function add(spec: BackendSpec): Promise<Backend> {
    if (!isBehaviour(spec.behaviour)) throw new UsageError(`simulator: unknown behaviour ${JSON.stringify(spec.behaviour)} for ${keyOf(spec.address, spec.port)}`);
    if (net.isIPv4(spec.address) && !spec.address.startsWith('127.')) throw new UsageError(`simulator: ${spec.address} is not a loopback address`);
    if (backends.has(keyOf(spec.address, spec.port)) && spec.port !== 0) throw new UsageError(`simulator: duplicate backend ${keyOf(spec.address, spec.port)}`);
    const b: Backend = {
      address: spec.address,
      port: spec.port,
      behaviour: spec.behaviour,
      options: options(spec),
      server: null,
      counters: { connections: 0, requests: 0, open: 0 },
      sockets: new Set(),
      flapSince: Date.now(),
    };
    backends.set(keyOf(b.address, b.port), b);
    if (spec.port === 0 && spec.behaviour === 'refused') throw new UsageError('simulator: a refused backend needs a fixed port');
    if (b.behaviour !== 'refused') await listen(b);
    if (b.behaviour === 'bad-tls') tlsContext();
    return b;
  }

  try {
    // Bounded parallelism: 10k listen() calls at once is fine for the kernel but not for error reporting.
    const specs = opts.backends;
    for (let i = 0; i < specs.length; i += 500) await Promise.all(specs.slice(i, i + 500).map(add));
  } catch (err) {
    await Promise.all([...backends.values()].map(unlisten));
    cert?.remove();
    throw err;
  }

  const sim: Simulator = {
    async setBehaviour(address, port, behaviour, opts = {}) {
      if (!isBehaviour(behaviour)) throw new UsageError(`simulator: unknown behaviour ${JSON.stringify(behaviour)}`);
      const b = get(address, port);
      const wasRefused = b.behaviour === 'refused';
      b.behaviour = behaviour;
      b.options = { ...b.options, ...options(opts) };
      b.flapSince = Date.now();
      if (behaviour === 'bad-tls') tlsContext();
      if (behaviour === 'refused' && !wasRefused) {
        for (const s of b.sockets) s.destroy();
        await unlisten(b);
      } else if (behaviour !== 'refused' && wasRefused) {
        await listen(b);
      }
    },
    stats(address, port) {
      const b = get(address, port);
      return { address: b.address, port: b.port, behaviour: b.behaviour, ...b.counters };
    },
    totals() {
      const t = { connections: 0, requests: 0, open: 0, backends: backends.size };
      for (const b of backends.values()) {
        t.connections += b.counters.connections;
        t.requests += b.counters.requests;
        t.open += b.counters.open;
      }
      return t;
    },
    list() {
      return [...backends.values()].map((b) => ({ address: b.address, port: b.port, behaviour: b.behaviour, ...b.counters }));
    },
    certPath: () => cert?.certPath,
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const all = [...backends.values()];
      for (const b of all) for (const s of b.sockets) s.destroy();
      await Promise.all(all.map(unlisten));
      cert?.remove();
    },
  };
  return sim;
}
