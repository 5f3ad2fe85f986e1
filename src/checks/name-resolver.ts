// Backend names → addresses, with the last-known address kept through resolver outages.
//
// A backend defined without an address is resolved on every check. When the resolver itself fails
// (SERVFAIL, no answer, connection refused: the resolver is down, not the backend), a name that
// resolved before keeps its last-known address: the check runs against it and the name is listed as
// stale (a WARNING in /alerts, poold_resolver_stale_names). Without this, a resolver restart marked
// every name-only backend down and the depool threshold was all that kept the pools serving.
// A definite "no such name" (NXDOMAIN, or the name has no address records) is a real answer: the
// last-known address is forgotten and the check fails with dns_failure, as for a name that never
// resolved.
//
// While a name is stale its checks use the last-known address at once, and one lookup per name
// (at most every `retryMs`) runs in the background to notice the resolver's return.
import { lookup, Resolver as DnsResolver } from 'node:dns/promises';
import type { NamedFailure } from './result.js';

/** How a lookup failed. `nxdomain` and `nodata` are answers about the name; the others are resolver trouble. */
export type ResolverFailureKind = 'servfail' | 'timeout' | 'refused' | 'temporary' | 'nxdomain' | 'nodata' | 'error';
export const RESOLVER_FAILURE_KINDS: readonly ResolverFailureKind[] = ['servfail', 'timeout', 'refused', 'temporary', 'nxdomain', 'nodata', 'error'];

export type Resolved = { address: string; stale?: StaleName } | { failure: NamedFailure };

export interface StaleName {
  name: string;
  address: string;
  /** The latest failure. */
  kind: ResolverFailureKind;
  /** Epoch ms of the first failure of this outage. */
  since: number;
}

export interface NameResolverOptions {
  /**
   * DNS servers to ask (`127.0.0.1:5353`, `[::1]:53`), through c-ares: /etc/hosts is not read.
   * None (the default): the system resolver (getaddrinfo), as every other client on the host.
   */
  servers?: readonly string[];
  /** With a last-known address to fall back on, wait at most this long for an answer. Default 2000 ms (and never more than half the check's time). */
  staleBudgetMs?: number;
  /** While a name is stale, look it up again at most this often. Default 1000 ms. */
  retryMs?: number;
  /** Per-query timeout of the c-ares resolver (with `servers`). Default 1000 ms, 2 tries. */
  queryTimeoutMs?: number;
  /** Names remembered at most (oldest forgotten first). Default 100 000. */
  maxNames?: number;
  now?: () => number;
}

class LookupError extends Error {
  constructor(
    readonly kind: ResolverFailureKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const PERMANENT = new Set<ResolverFailureKind>(['nxdomain', 'nodata']);

/** getaddrinfo's errors (as node names them) → kind. getaddrinfo cannot tell SERVFAIL from a timeout. */
function systemKind(code: string): ResolverFailureKind {
  switch (code) {
    case 'ENOTFOUND':
      return 'nxdomain';
    case 'ENODATA':
      return 'nodata';
    case 'EAI_AGAIN':
      return 'temporary';
    case 'EAI_FAIL':
      return 'servfail';
    default:
      return 'error';
  }
}

/** c-ares errors → kind. */
function caresKind(code: string): ResolverFailureKind {
  switch (code) {
    case 'ENOTFOUND':
      return 'nxdomain';
    case 'ENODATA':
      return 'nodata';
    case 'ESERVFAIL':
      return 'servfail';
    case 'ETIMEOUT':
      return 'timeout';
    case 'ECONNREFUSED':
    case 'EREFUSED':
      return 'refused';
    default:
      return 'error';
  }
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

export class NameResolver {
  private readonly lastKnown = new Map<string, string>();
  private readonly stale = new Map<string, StaleName>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly lastTry = new Map<string, number>();
  private readonly failureCounts = new Map<ResolverFailureKind, number>(RESOLVER_FAILURE_KINDS.map((k) => [k, 0]));
  private readonly find: (name: string) => Promise<string>;
  private readonly now: () => number;

  constructor(private readonly opts: NameResolverOptions = {}) {
    this.now = opts.now ?? Date.now;
    if (opts.servers && opts.servers.length > 0) {
      const r = new DnsResolver({ timeout: opts.queryTimeoutMs ?? 1000, tries: 2 });
      r.setServers([...opts.servers]); // throws on a malformed address: configuration error, said at start
      this.find = (name) => this.caresLookup(r, name);
    } else {
      this.find = async (name) => {
        try {
          return (await lookup(name)).address;
        } catch (err) {
          const code = codeOf(err);
          throw new LookupError(systemKind(code), code, `DNS failure for ${name}: ${code}`);
        }
      };
    }
  }

  private async caresLookup(r: DnsResolver, name: string): Promise<string> {
    let code: string;
    try {
      const a = await r.resolve4(name);
      if (a[0] !== undefined) return a[0];
      code = 'ENODATA';
    } catch (err) {
      code = codeOf(err);
    }
    if (code === 'ENODATA') {
      // No A record: an IPv6-only backend is fine.
      try {
        const aaaa = await r.resolve6(name);
        if (aaaa[0] !== undefined) return aaaa[0];
      } catch (err) {
        code = codeOf(err);
      }
    }
    throw new LookupError(caresKind(code), code, `DNS failure for ${name}: ${code}`);
  }

  /** One lookup per name at a time; its outcome updates what is known, whoever waits for it. */
  private lookupShared(name: string): Promise<string> {
    let p = this.inFlight.get(name);
    if (p) return p;
    this.lastTry.set(name, this.now());
    p = this.find(name).then(
      (address) => {
        this.remember(name, address);
        this.stale.delete(name);
        return address;
      },
      (err: unknown) => {
        const e = err instanceof LookupError ? err : new LookupError('error', codeOf(err), `DNS failure for ${name}: ${codeOf(err)}`);
        this.count(e.kind);
        if (PERMANENT.has(e.kind)) {
          // The name is gone (or never was): its old address must not keep a backend pooled.
          this.lastKnown.delete(name);
          this.stale.delete(name);
        } else {
          this.markStale(name, e.kind);
        }
        throw e;
      },
    ).finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, p);
    return p;
  }

  private remember(name: string, address: string): void {
    this.lastKnown.delete(name); // re-insert: Map order is then least recently resolved first
    this.lastKnown.set(name, address);
    const max = this.opts.maxNames ?? 100_000;
    while (this.lastKnown.size > max) {
      const oldest = this.lastKnown.keys().next().value as string;
      this.lastKnown.delete(oldest);
      this.stale.delete(oldest);
    }
  }

  private markStale(name: string, kind: ResolverFailureKind): void {
    const address = this.lastKnown.get(name);
    if (address === undefined) return;
    const prev = this.stale.get(name);
    this.stale.set(name, { name, address, kind, since: prev?.since ?? this.now() });
  }

  private count(kind: ResolverFailureKind): void {
    this.failureCounts.set(kind, (this.failureCounts.get(kind) ?? 0) + 1);
  }

  /** The address to check `name` at, by `deadline` (epoch ms). */
  async resolve(name: string, deadline: number): Promise<Resolved> {
    const remaining = deadline - this.now();
    if (remaining <= 0) return { failure: { code: 'deadline', message: `deadline passed before resolving ${name}` } };
    const staleNow = this.stale.get(name);
    if (staleNow) {
      // Resolver known to be failing for this name: check at the last-known address now, and ask
      // again in the background (not on every check).
      if (this.now() - (this.lastTry.get(name) ?? 0) >= (this.opts.retryMs ?? 1000)) this.lookupShared(name).catch(() => undefined);
      return { address: staleNow.address, stale: staleNow };
    }
    const known = this.lastKnown.get(name);
    // Without a fallback the check may spend its whole time on DNS; with one, keep time for the check.
    const budget = known === undefined ? remaining : Math.min(remaining / 2, this.opts.staleBudgetMs ?? 2000);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), budget);
    });
    const answer = this.lookupShared(name).then(
      (address) => ({ address }),
      (err: LookupError) => err,
    );
    try {
      const r = await Promise.race([answer, timeout]);
      if (r === 'timeout') {
        if (known === undefined) return { failure: { code: 'deadline', message: `DNS lookup of ${name} not answered by the deadline` } };
        // The lookup goes on (and is counted when it ends); meanwhile the name is served stale.
        this.markStale(name, 'timeout');
        const s = this.stale.get(name);
        return s ? { address: s.address, stale: s } : { address: known };
      }
      if ('address' in r) return { address: r.address };
      const s = this.stale.get(name);
      if (s) return { address: s.address, stale: s };
      return { failure: { code: 'dns_failure', message: r.message } };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Names currently served from their last-known address, by name. */
  staleNames(): StaleName[] {
    return [...this.stale.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  staleInfo(name: string): StaleName | undefined {
    return this.stale.get(name);
  }

  /** Failed lookups since start, by kind. */
  failures(): Record<ResolverFailureKind, number> {
    return Object.fromEntries(this.failureCounts) as Record<ResolverFailureKind, number>;
  }
}
