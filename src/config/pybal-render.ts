// ServiceDefs → pybal.conf sections whose monitors check exactly what poold checks (the cxserver lesson:
// one definition of healthy). What PyBal cannot express is written as a `# poold: WARNING` comment in the
// section and returned, never dropped silently. Output is deterministic: sorted, no timestamps.
import type { CheckDef, HttpCheckDef, ServiceDef, StatusRange } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { formatPyLiteral, PyName, type PyValue } from './pybal-literal.js';

export interface PybalRenderWarning {
  /** dc/cluster/service */
  service: string;
  section: string;
  check?: string;
  message: string;
}

export interface RenderedPybal {
  text: string;
  warnings: PybalRenderWarning[];
}

/** PyBal's `config =` URL for a service: poold serves the server list there (DESIGN §7). */
export function pybalConfigUrl(pooldUrl: string, svc: ServiceDef): string {
  return `${pooldUrl.replace(/\/+$/, '')}/pybal/${servicePath(svc)}`;
}

/** The Host header a ProxyFetch URL carries: the check's, else the VIP (PyBal cannot vary it per server). */
export function httpCheckHostHeader(check: HttpCheckDef, svc: ServiceDef): string {
  if (check.host) return check.host;
  return svc.lvs.ip.includes(':') ? `[${svc.lvs.ip}]` : svc.lvs.ip;
}

/** ProxyFetch URLs for an http check: scheme://host-header + path, one per checked URL. */
export function proxyFetchUrls(check: HttpCheckDef, svc: ServiceDef): string[] {
  const host = httpCheckHostHeader(check, svc);
  return check.urls.map((u) => `${check.scheme}://${host}${u.startsWith('/') ? u : `/${u}`}`);
}

export function formatStatusRanges(ranges: StatusRange[]): string {
  return ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
}

/**
 * Section names: the pool name (the service), or `<service>_<port>` when two services of the
 * rendered set share a name (PyBal sections must be unique).
 */
export function pybalSectionNames(services: ServiceDef[]): Map<ServiceDef, string> {
  const count = new Map<string, number>();
  for (const s of services) count.set(s.service, (count.get(s.service) ?? 0) + 1);
  const out = new Map<ServiceDef, string>();
  for (const s of services) out.set(s, (count.get(s.service) ?? 0) > 1 ? `${s.service}_${s.lvs.port}` : s.service);
  return out;
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

const PLACEHOLDER_NAMES: Record<string, string> = { '{host}': 'server.host', '{address}': 'server.ip', '{port}': 'server.port' };

interface SectionBuilder {
  lines: string[];
  warn(message: string, check?: CheckDef): void;
}

function renderHttp(b: SectionBuilder, check: HttpCheckDef, svc: ServiceDef): void {
  if (!check.host) b.warn(`no Host header set; PyBal sends the VIP ${svc.lvs.ip} where poold sends each server's name`, check);
  if (check.port !== undefined && check.port !== svc.lvs.port) {
    b.warn(`checks port ${check.port}, but PyBal's ProxyFetch always connects to the service port ${svc.lvs.port}`, check);
  }
  const status = check.expect.status;
  const first = status[0]?.from ?? 200;
  if (status.length !== 1 || status[0].from !== status[0].to) {
    b.warn(`expects status ${formatStatusRanges(status)}; PyBal can only expect one status, rendered ${first}`, check);
  }
  const body = check.expect.body;
  if (body && (body.nonEmpty || body.contains !== undefined || body.regex !== undefined || body.json)) {
    b.warn('body rules (non_empty/contains/regex/json) have no ProxyFetch equivalent; PyBal checks the status only', check);
  }
  if (Object.keys(check.headers).length > 0) b.warn(`headers ${Object.keys(check.headers).sort().join(', ')} cannot be sent by ProxyFetch`, check);
  if (check.method !== 'GET') b.warn(`method ${check.method}: ProxyFetch always uses GET`, check);
  if (check.scheme === 'https' && check.tls.verify) b.warn('TLS verification: ProxyFetch does not verify certificates', check);
  if (check.tls.sni && check.tls.sni !== check.host) b.warn(`TLS SNI ${check.tls.sni} differs from the Host header; ProxyFetch sends the URL host`, check);
  if (check.timeoutMs % 1000 !== 0) b.warn(`timeout ${check.timeoutMs}ms rounded up to ${seconds(check.timeoutMs)}s (PyBal takes whole seconds)`, check);
  if (check.intervalMs % 1000 !== 0) b.warn(`interval ${check.intervalMs}ms rounded up to ${seconds(check.intervalMs)}s`, check);

  b.lines.push(`proxyfetch.url = ${formatPyLiteral(proxyFetchUrls(check, svc))}`);
  b.lines.push(`proxyfetch.timeout = ${seconds(check.timeoutMs)}`);
  b.lines.push(`proxyfetch.http_status = ${first}`);
  b.lines.push(`proxyfetch.interval = ${seconds(check.intervalMs)}`);
  if (check.checkAll && check.urls.length > 1) {
    b.lines.push('proxyfetch.check_all = yes');
    b.lines.push(`proxyfetch.max_failures = ${check.maxFailures}`);
  }
}

function commandArg(arg: string, b: SectionBuilder, check: CheckDef): PyValue {
  const name = PLACEHOLDER_NAMES[arg];
  if (name) return new PyName(name);
  if (/\{(host|address|port)\}/.test(arg)) b.warn(`argument ${JSON.stringify(arg)} embeds a placeholder; PyBal can only pass server.host/ip/port as a whole argument`, check);
  return arg;
}

function renderSection(svc: ServiceDef, section: string, pooldUrl: string, warnings: PybalRenderWarning[]): string[] {
  const monitorLines: string[] = [];
  const own: string[] = [];
  const b: SectionBuilder = {
    lines: monitorLines,
    warn(message, check) {
      own.push(`# poold: WARNING: ${check ? `check ${check.name}: ` : ''}${message}`);
      warnings.push({ service: servicePath(svc), section, check: check?.name, message });
    },
  };
  const monitors: string[] = [];
  const taken = new Set<string>();
  const claim = (monitor: string, check: CheckDef): boolean => {
    if (taken.has(monitor)) {
      b.warn(`a second ${check.kind} check cannot be rendered: one ${monitor} monitor per PyBal section`, check);
      return false;
    }
    taken.add(monitor);
    monitors.push(monitor);
    return true;
  };

  for (const check of svc.checks) {
    switch (check.kind) {
      case 'http':
        if (claim('ProxyFetch', check)) renderHttp(b, check, svc);
        break;
      case 'idle-connection':
        if (claim('IdleConnection', check)) {
          monitorLines.push(`idleconnection.timeout-clean-reconnect = ${seconds(check.reconnectTimeoutMs)}`);
        }
        break;
      case 'command':
        if (claim('RunCommand', check)) {
          monitorLines.push(`runcommand.command = ${check.argv[0]}`);
          monitorLines.push(`runcommand.arguments = ${formatPyLiteral(check.argv.slice(1).map((a) => commandArg(a, b, check)))}`);
          monitorLines.push(`runcommand.timeout = ${seconds(check.timeoutMs)}`);
          monitorLines.push(`runcommand.interval = ${seconds(check.intervalMs)}`);
        }
        break;
      case 'dns':
        if (claim('DNSQuery', check)) {
          if (check.expect?.length) b.warn('expected addresses cannot be checked by DNSQuery; it only checks that the server answers', check);
          if (check.type !== 'A') b.warn(`query type ${check.type}: DNSQuery looks up both A and AAAA`, check);
          monitorLines.push(`dnsquery.hostnames = ${formatPyLiteral([check.query])}`);
          monitorLines.push(`dnsquery.interval = ${seconds(check.intervalMs)}`);
        }
        break;
      case 'tcp':
        b.warn('a plain TCP connect check has no PyBal monitor (IdleConnection holds the connection open instead); not rendered', check);
        break;
    }
  }
  if (monitors.length === 0) b.warn('no check is rendered, so PyBal would consider every server up');
  if (svc.lvs.method !== 'g') b.warn(`forwarding method -${svc.lvs.method}: pybal.conf cannot set it (PyBal uses direct routing)`);

  // PyBal's ConfigParser %-interpolates values: a literal % (e.g. in a URL path) must be written %%.
  const options = [
    `protocol = ${svc.lvs.protocol}`,
    `ip = ${svc.lvs.ip}`,
    `port = ${svc.lvs.port}`,
    `scheduler = ${svc.lvs.scheduler}`,
    `config = ${pybalConfigUrl(pooldUrl, svc)}`,
    `depool-threshold = ${svc.depoolThreshold}`,
    `monitors = [ ${monitors.map((m) => JSON.stringify(m)).join(', ')} ]`,
    ...monitorLines,
  ].map((line) => line.replace(/%/g, '%%'));
  return [`[${section}]`, `# ${servicePath(svc)}`, ...own, ...options];
}

function byPool(a: ServiceDef, b: ServiceDef): number {
  return a.service.localeCompare(b.service, 'en') || a.lvs.port - b.lvs.port || a.cluster.localeCompare(b.cluster, 'en') || a.dc.localeCompare(b.dc, 'en');
}

/** Renders one pybal.conf for the given services, with the DO NOT EDIT header. */
export function renderPybal(services: ServiceDef[], pooldUrl: string, title = 'pybal.conf'): RenderedPybal {
  const sorted = [...services].sort(byPool);
  const names = pybalSectionNames(sorted);
  const warnings: PybalRenderWarning[] = [];
  const out = [
    `# ${title}: generated by poold from pools/*.yaml. DO NOT EDIT: edit pools/ and regenerate`,
    '# with `poolctl lvs render-pybal`; `poolctl drift` reports any difference from pools/.',
    '# PyBal has no rise/fall, flapping or unclosed-connection policy; poold applies those itself.',
  ];
  for (const svc of sorted) {
    out.push('');
    out.push(...renderSection(svc, names.get(svc)!, pooldUrl, warnings));
  }
  return { text: `${out.join('\n')}\n`, warnings };
}

/** The pybal.conf for one datacenter (lvs-configs/<dc>.conf). */
export function renderPybalForDc(services: ServiceDef[], dc: string, pooldUrl: string): string {
  return renderPybal(
    services.filter((s) => s.dc === dc),
    pooldUrl,
    `lvs-configs/${dc}.conf`,
  ).text;
}

/** The poold URL the committed lvs-configs/ use: the service name convention plus PyBal's instrumentation port. */
export function defaultPooldUrl(dc: string): string {
  return `http://poold.svc.${dc}.wmnet:9090`;
}
