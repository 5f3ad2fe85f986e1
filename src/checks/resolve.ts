// Resolving a backend's name to the address to check, bounded by the check's deadline.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { NamedFailure } from './result.js';

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

export type Resolved = { address: string } | { failure: NamedFailure };

/**
 * An IP literal is returned as is. A name goes through the system resolver (getaddrinfo, as every
 * other client on the host would), raced against the deadline: getaddrinfo cannot be cancelled,
 * so on timeout its late answer is simply dropped.
 */
export async function resolveAddress(name: string, deadline: number): Promise<Resolved> {
  if (isIpLiteral(name)) return { address: name };
  const remaining = deadline - Date.now();
  if (remaining <= 0) return { failure: { code: 'deadline', message: `deadline passed before resolving ${name}` } };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Resolved>((resolve) => {
    timer = setTimeout(() => resolve({ failure: { code: 'deadline', message: `DNS lookup of ${name} not answered by the deadline` } }), remaining);
  });
  const answer = lookup(name).then(
    (r): Resolved => ({ address: r.address }),
    (err: NodeJS.ErrnoException): Resolved => ({ failure: { code: 'dns_failure', message: `DNS failure for ${name}: ${err.code ?? err.message}` } }),
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
