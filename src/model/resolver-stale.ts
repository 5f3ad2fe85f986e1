// A backend checked at its last-known address because the resolver fails for its name (see
// src/checks/name-resolver.ts): the finding its check results carry, and the /alerts WARNING that
// lists every such name. A resolver outage is not a backend failure, but it must not go unseen.
import type { AlertCause } from './alerts.js';
import type { Finding } from './types.js';

const PREFIX = 'resolver failing for ';

/** The finding on a check result whose address came from the last-known answer. */
export function resolverStaleFinding(name: string, address: string): Finding {
  // Stable text (no failure kind or age): observers republish when a host's reason changes.
  return { code: 'dns_failure', severity: 'warning', message: `${PREFIX}${name}: checked at its last-known address ${address}` };
}

export function isResolverStaleFinding(f: Finding): boolean {
  return f.code === 'dns_failure' && f.severity === 'warning' && f.message.startsWith(PREFIX);
}

/** WARNING `resolver: 2 names served from last-known address: a, b` (null when there are none). */
export function resolverStaleCause(names: Iterable<string>): AlertCause | null {
  const sorted = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length === 0) return null;
  return { severity: 'warning', message: `resolver: ${sorted.length} ${sorted.length === 1 ? 'name' : 'names'} served from last-known address: ${sorted.join(', ')}` };
}
