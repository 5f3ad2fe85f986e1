// The one ProxyFetch monitor a pybal.conf section can have, derived from a service's http checks.
// Shared by render (what to write) and drift (what a deployed file should say), so they cannot disagree.
import type { HttpCheckDef, ServiceDef, StatusRange } from '../model/types.js';

export interface ProxyFetchPlan {
  /** The http checks this monitor stands for (the first, or several merged). */
  checks: HttpCheckDef[];
  scheme: 'http' | 'https';
  /** Host header, which is the URL host in ProxyFetch. */
  host: string;
  paths: string[];
  /** scheme://host + path, as proxyfetch.url lists them. */
  urls: string[];
  /** The port poold checks; ProxyFetch can only use the service port. */
  port: number;
  timeoutS: number;
  intervalS: number;
  /** The single status ProxyFetch expects. */
  status: number;
  checkAll: boolean;
  maxFailures: number;
  /** What PyBal cannot express, per check name. */
  warnings: Array<{ check?: string; message: string }>;
}

export function wholeSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function formatStatusRanges(ranges: StatusRange[]): string {
  return ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
}

/** The Host header a ProxyFetch URL carries: the check's, else the VIP (PyBal cannot vary it per server). */
export function httpCheckHostHeader(check: HttpCheckDef, svc: ServiceDef): string {
  if (check.host) return check.host;
  return svc.lvs.ip.includes(':') ? `[${svc.lvs.ip}]` : svc.lvs.ip;
}

function pathOf(u: string): string {
  return u.startsWith('/') ? u : `/${u}`;
}

/** Requires every URL to pass: one URL, or check_all with no tolerated failure. */
function allMustPass(c: HttpCheckDef): boolean {
  return c.urls.length === 1 || (c.checkAll && c.maxFailures === 0);
}

function checkWarnings(check: HttpCheckDef, svc: ServiceDef, out: ProxyFetchPlan['warnings']): void {
  const w = (message: string) => out.push({ check: check.name, message });
  if (!check.host) w(`no Host header set; PyBal sends the VIP ${svc.lvs.ip} where poold sends each server's name`);
  if (check.port !== undefined && check.port !== svc.lvs.port) w(`checks port ${check.port}, but PyBal's ProxyFetch always connects to the service port ${svc.lvs.port}`);
  const status = check.expect.status;
  if (status.length !== 1 || status[0].from !== status[0].to) w(`expects status ${formatStatusRanges(status)}; PyBal can only expect one status, rendered ${status[0]?.from ?? 200}`);
  const body = check.expect.body;
  if (body && (body.nonEmpty || body.contains !== undefined || body.regex !== undefined || body.json)) {
    w('body rules (non_empty/contains/regex/json) have no ProxyFetch equivalent; PyBal checks the status only');
  }
  if (Object.keys(check.headers).length > 0) w(`headers ${Object.keys(check.headers).sort().join(', ')} cannot be sent by ProxyFetch`);
  if (check.method !== 'GET') w(`method ${check.method}: ProxyFetch always uses GET`);
  if (check.scheme === 'https' && check.tls.verify) w('TLS verification: ProxyFetch does not verify certificates');
  if (check.tls.sni && check.tls.sni !== check.host) w(`TLS SNI ${check.tls.sni} differs from the Host header; ProxyFetch sends the URL host`);
  if (check.timeoutMs % 1000 !== 0) w(`timeout ${check.timeoutMs}ms rounded up to ${wholeSeconds(check.timeoutMs)}s (PyBal takes whole seconds)`);
  if (check.intervalMs % 1000 !== 0) w(`interval ${check.intervalMs}ms rounded up to ${wholeSeconds(check.intervalMs)}s`);
}

/**
 * Several http checks that all must pass and share scheme, Host header, port and status are one
 * ProxyFetch with check_all over all their URLs (timeout: the longest; interval: the shortest).
 * Otherwise the first http check is rendered and the others are named in warnings.
 */
export function proxyFetchPlan(svc: ServiceDef): ProxyFetchPlan | null {
  const http = svc.checks.filter((c): c is HttpCheckDef => c.kind === 'http');
  if (http.length === 0) return null;
  const first = http[0];
  const key = (c: HttpCheckDef) => [c.scheme, httpCheckHostHeader(c, svc), c.port ?? svc.lvs.port, c.expect.status[0]?.from ?? 200].join('|');
  const mergeable = http.length > 1 && http.every((c) => key(c) === key(first) && allMustPass(c));
  const checks = mergeable ? http : [first];
  const warnings: ProxyFetchPlan['warnings'] = [];
  for (const c of checks) checkWarnings(c, svc, warnings);
  if (!mergeable) {
    for (const c of http.slice(1)) {
      warnings.push({ check: c.name, message: 'a second http check cannot be rendered: one ProxyFetch monitor per PyBal section, and it differs from the first (scheme, host, port, status or tolerated failures)' });
    }
  }
  const paths = [...new Set(checks.flatMap((c) => c.urls.map(pathOf)))];
  const host = httpCheckHostHeader(first, svc);
  const checkAll = mergeable || (first.checkAll && first.urls.length > 1);
  return {
    checks,
    scheme: first.scheme,
    host,
    paths,
    urls: paths.map((p) => `${first.scheme}://${host}${p}`),
    port: first.port ?? svc.lvs.port,
    timeoutS: Math.max(...checks.map((c) => wholeSeconds(c.timeoutMs))),
    intervalS: Math.min(...checks.map((c) => wholeSeconds(c.intervalMs))),
    status: first.expect.status[0]?.from ?? 200,
    checkAll,
    maxFailures: mergeable ? 0 : first.maxFailures,
    warnings,
  };
}
