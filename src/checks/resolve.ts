// Resolving a backend's name to the address to check, bounded by the check's deadline.
import { isIP } from 'node:net';
import { NameResolver, type NameResolverOptions, type Resolved } from './name-resolver.js';

/** isIP() runs regexes; checks ask about the same few thousand target addresses every second. */
const literalCache = new Map<string, boolean>();
const LITERAL_CACHE_MAX = 100_000;

/** Whether `name` is an IPv4 or IPv6 literal (memoised). */
export function isIpLiteral(name: string): boolean {
  let v = literalCache.get(name);
  if (v === undefined) {
    v = isIP(name) !== 0;
    // Bounded: target sets change over a daemon's life; start over rather than grow without end.
    if (literalCache.size >= LITERAL_CACHE_MAX) literalCache.clear();
    literalCache.set(name, v);
  }
  return v;
}

export type { Resolved } from './name-resolver.js';

/** The process's resolver: the system's (getaddrinfo) unless configureResolver named DNS servers. */
let current = new NameResolver();

/**
 * Replaces the process's resolver (poold --resolver): names are then asked of these DNS servers.
 * What the previous resolver knew (last-known addresses, counts) is dropped.
 */
export function configureResolver(opts: NameResolverOptions): NameResolver {
  current = new NameResolver(opts);
  return current;
}

/** The resolver checks use now (stale names and failure counts for /alerts and /metrics). */
export function nameResolver(): NameResolver {
  return current;
}

/**
 * An IP literal is returned as is. A name is resolved by the process's resolver, bounded by the
 * deadline; when the resolver fails (not NXDOMAIN) for a name that resolved before, its last-known
 * address is returned, marked `stale` (src/checks/name-resolver.ts).
 */
export function resolveAddress(name: string, deadline: number): Promise<Resolved> {
  if (isIpLiteral(name)) return Promise.resolve({ address: name });
  return current.resolve(name, deadline);
}
