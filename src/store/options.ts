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
  return parts.join(' ');
}
