// Host name → address for pooled hosts whose definition carries no address (ARCHITECTURE.md §10: the
// address is optional, resolved otherwise). Answers are cached so a reconcile does not wait on DNS each time;
// failures are cached briefly too, so a dead resolver does not stall every reconcile, and a resolver
// outage keeps the last answer (as poold's checks do, src/checks/name-resolver.ts).
import { lookup } from 'node:dns/promises';

export type Resolver = (host: string, family: 4 | 6) => Promise<string | undefined>;

export interface ResolverOptions {
  ttlMs?: number;
  negativeTtlMs?: number;
  now?: () => number;
  lookupFn?: (host: string, family: 4 | 6) => Promise<string>;
}

export function cachingResolver(opts: ResolverOptions = {}): Resolver {
  const ttl = opts.ttlMs ?? 300_000;
  const negTtl = opts.negativeTtlMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const find = opts.lookupFn ?? (async (host: string, family: 4 | 6) => (await lookup(host, { family })).address);
  const cache = new Map<string, { address: string | undefined; until: number }>();
  return async (host, family) => {
    const key = `${family} ${host}`;
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.address;
    let address: string | undefined;
    try {
      address = await find(host, family);
    } catch (err) {
      // The resolver failing (SERVFAIL, timeout: getaddrinfo's EAI_AGAIN) is not news about the
      // name: keep its last answer, asking again after the short ttl. Without one, or when the name
      // is gone (ENOTFOUND/ENODATA), the caller reports "no address" and skips the service (fail static).
      const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : '');
      address = code === 'ENOTFOUND' || code === 'ENODATA' ? undefined : hit?.address;
      cache.set(key, { address, until: now() + negTtl });
      return address;
    }
    cache.set(key, { address, until: now() + ttl });
    return address;
  };
}
