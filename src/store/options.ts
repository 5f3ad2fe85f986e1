// How to reach etcd. Built by connection.ts from flags, environment and config file.

export interface EtcdOptions {
  /** Client URLs, tried in order; the first that answers is kept. */
  endpoints: string[];
  /** PEM file paths for TLS (ca alone verifies the server; cert+key present a client certificate). */
  ca?: string;
  cert?: string;
  key?: string;
  user?: string;
  /** Never logged or printed; see describeEtcdOptions(). */
  password?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /**
   * conftool's pools also live in etcd's v2 keyspace (conftool 3.x, PyBal's `etcd://`): poolctl
   * writes them there first (v2 compare-and-swap, then the v3 copy and audit record), and the
   * elected poold runs the v2 bridge (store/bridge-v2.ts) that keeps v2 and v3 identical. The value
   * is the side that wins a field both sides changed at once. Unset: v3 only (the default).
   */
  conftoolV2?: 'v2' | 'v3';
}

export const DEFAULT_ETCD_ENDPOINT = 'http://127.0.0.1:2379';
export const DEFAULT_TIMEOUT_MS = 5000;

/** A printable description with the password masked, for logs and error messages. */
export function describeEtcdOptions(o: EtcdOptions): string {
  const parts = [`endpoints=${o.endpoints.join(',')}`];
  if (o.ca) parts.push(`ca=${o.ca}`);
  if (o.cert) parts.push(`cert=${o.cert}`);
  if (o.key) parts.push(`key=${o.key}`);
  if (o.user) parts.push(`user=${o.user}`);
  if (o.password !== undefined) parts.push('password=***');
  if (o.conftoolV2 !== undefined) parts.push(`conftool-v2=${o.conftoolV2}-wins`);
  return parts.join(' ');
}
