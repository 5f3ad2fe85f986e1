// ServiceDefs → pybal.conf sections whose monitors check exactly what poold checks (the cxserver lesson:
// one definition of healthy). What PyBal cannot express is written as a `# poold: WARNING` comment in the
// section and returned, never dropped silently. Output is deterministic: sorted, no timestamps.
import type { CheckDef, ServiceDef } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { formatPyLiteral, PyName, type PyValue } from './pybal-literal.js';
import { proxyFetchPlan, wholeSeconds, type ProxyFetchPlan } from './pybal-proxyfetch.js';
import { drivenComment, drivenMonitorLines } from './pybal-driven.js';

// Re-exported: callers of the renderer also need how a check maps to ProxyFetch.
export { formatStatusRanges, httpCheckHostHeader, proxyFetchPlan } from './pybal-proxyfetch.js';

export interface PybalRenderWarning {
  /** dc/name of the LVS service */
  service: string;
  section: string;
  check?: string;
  message: string;
}

export interface RenderedPybal {
  text: string;
  warnings: PybalRenderWarning[];
}

/**
 * PyBal's `config =` URL for a section: poold serves that LVS service's server list there, with
 * `enabled` = poold's effective state (`/pybal/<dc>/<section>`).
 */
export function pybalConfigUrl(pooldUrl: string, svc: ServiceDef): string {
  return `${pooldUrl.replace(/\/+$/, '')}/pybal/${servicePath(svc)}`;
}

// PyBal's RunCommand takes its arguments only when every one is a string (monitor.py
// _getConfigStringList); one non-string and it silently runs the command with [""] instead. So an
// argument is either a string literal or a per-server name PyBal holds as a string: server.host
// (the host name) and server.ip (the resolved address). server.port is an int there, and always the
// section's port (LVSService.initServer), so `{port}` is written as that port, a string literal.
const PLACEHOLDER_NAMES: Record<string, string> = { '{host}': 'server.host', '{address}': 'server.ip' };

interface SectionBuilder {
  lines: string[];
  warn(message: string, check?: CheckDef): void;
  warnNamed(message: string, check?: string): void;
}

function renderProxyFetch(b: SectionBuilder, plan: ProxyFetchPlan): void {
  for (const w of plan.warnings) b.warnNamed(w.message, w.check);
  b.lines.push(`proxyfetch.url = ${formatPyLiteral(plan.urls)}`);
  b.lines.push(`proxyfetch.timeout = ${plan.timeoutS}`);
  b.lines.push(`proxyfetch.http_status = ${plan.status}`);
  b.lines.push(`proxyfetch.interval = ${plan.intervalS}`);
  if (plan.checkAll && plan.urls.length > 1) {
    b.lines.push('proxyfetch.check_all = yes');
    b.lines.push(`proxyfetch.max_failures = ${plan.maxFailures}`);
  }
}

/** One RunCommand argument: a string literal, or server.host / server.ip (strings in PyBal). */
function commandArg(arg: string, port: number, b: SectionBuilder, check: CheckDef): PyValue {
  const name = PLACEHOLDER_NAMES[arg];
  if (name) return new PyName(name);
  const literal = arg.replace(/\{port\}/g, String(port));
  if (/\{(host|address)\}/.test(literal)) b.warn(`argument ${JSON.stringify(arg)} embeds a placeholder; PyBal can only pass server.host/ip as a whole argument`, check);
  return literal;
}

/**
 * How PyBal is meant to use the sections:
 * - `driven`: PyBal applies poold's decision and decides nothing (see pybal-driven.ts); deploy this.
 * - `monitors`: PyBal runs monitors equivalent to poold's checks, with its own threshold. Combined
 *   with poold's `config =` list it pools a host only when poold AND its own monitors say so (and
 *   skips its threshold on list changes); useful to compare checks (poolctl drift), not to serve.
 */
export type PybalRenderMode = 'driven' | 'monitors';

export interface PybalRenderOptions {
  mode?: PybalRenderMode;
  /** driven: seconds between runs of the always-passing monitor. */
  drivenIntervalS?: number;
}

function renderDrivenSection(svc: ServiceDef, pooldUrl: string, warnings: PybalRenderWarning[], opts: PybalRenderOptions): string[] {
  const section = svc.name;
  const own: string[] = [drivenComment(svc)];
  if (svc.lvs.method !== 'g') {
    const message = `forwarding method -${svc.lvs.method}: pybal.conf cannot set it (PyBal uses direct routing)`;
    own.push(`# poold: WARNING: ${message}`);
    warnings.push({ service: servicePath(svc), section, message });
  }
  const options = [
    `protocol = ${svc.lvs.protocol}`,
    `ip = ${svc.lvs.ip}`,
    `port = ${svc.lvs.port}`,
    `scheduler = ${svc.lvs.scheduler}`,
    `config = ${pybalConfigUrl(pooldUrl, svc)}`,
    // Never consulted (the monitor never fails); kept so PyBal's /alerts "too small" warning matches.
    `depool-threshold = ${svc.depoolThreshold}`,
    ...drivenMonitorLines({ intervalS: opts.drivenIntervalS }),
  ].map((line) => line.replace(/%/g, '%%'));
  return [`[${section}]`, `# ${servicePath(svc)}: pool ${svc.pool.cluster}/${svc.pool.service}`, ...own, ...options];
}

function renderSection(svc: ServiceDef, pooldUrl: string, warnings: PybalRenderWarning[]): string[] {
  const section = svc.name;
  const monitorLines: string[] = [];
  const own: string[] = [];
  const b: SectionBuilder = {
    lines: monitorLines,
    warn(message, check) {
      this.warnNamed(message, check?.name);
    },
    warnNamed(message, check) {
      own.push(`# poold: WARNING: ${check ? `check ${check}: ` : ''}${message}`);
      warnings.push({ service: servicePath(svc), section, check, message });
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
        // All http checks become one ProxyFetch (merged or first-only); the plan names what is lost.
        if (!taken.has('ProxyFetch')) {
          taken.add('ProxyFetch');
          monitors.push('ProxyFetch');
          renderProxyFetch(b, proxyFetchPlan(svc)!);
        }
        break;
      case 'idle-connection':
        if (claim('IdleConnection', check)) {
          monitorLines.push(`idleconnection.timeout-clean-reconnect = ${wholeSeconds(check.reconnectTimeoutMs)}`);
        }
        break;
      case 'command':
        if (claim('RunCommand', check)) {
          monitorLines.push(`runcommand.command = ${check.argv[0]}`);
          // An empty list is not a string list to PyBal either: it runs the command with [""].
          if (check.argv.length === 1) b.warn('no arguments: PyBal runs a RunCommand with at least one argument, an empty string', check);
          monitorLines.push(`runcommand.arguments = ${formatPyLiteral(check.argv.slice(1).map((a) => commandArg(a, svc.lvs.port, b, check)))}`);
          monitorLines.push(`runcommand.timeout = ${wholeSeconds(check.timeoutMs)}`);
          monitorLines.push(`runcommand.interval = ${wholeSeconds(check.intervalMs)}`);
        }
        break;
      case 'dns':
        if (claim('DNSQuery', check)) {
          if (check.expect?.length) b.warn('expected addresses cannot be checked by DNSQuery; it only checks that the server answers', check);
          if (check.type !== 'A') b.warn(`query type ${check.type}: DNSQuery looks up both A and AAAA`, check);
          monitorLines.push(`dnsquery.hostnames = ${formatPyLiteral([check.query])}`);
          monitorLines.push(`dnsquery.interval = ${wholeSeconds(check.intervalMs)}`);
        }
        break;
      case 'tcp':
        b.warn('a plain TCP connect check has no PyBal monitor (IdleConnection holds the connection open instead); not rendered', check);
        break;
    }
  }
  if (monitors.length === 0) b.warn('no check is rendered, so PyBal would consider every server up');
  // PyBal forwards by direct routing, or by IPIP with `tunneling = true`; it cannot masquerade.
  if (svc.lvs.drainMs) b.warn(`drain ${svc.lvs.drainMs}ms: PyBal removes a depooled server at once (only the poold LVS agent drains)`);
  if (svc.lvs.method === 'm') b.warn('forwarding method -m (masquerading): pybal.conf cannot set it (PyBal uses direct routing or, with tunneling = true, IPIP)');

  // PyBal's ConfigParser %-interpolates values: a literal % (e.g. in a URL path) must be written %%.
  const options = [
    `protocol = ${svc.lvs.protocol}`,
    `ip = ${svc.lvs.ip}`,
    `port = ${svc.lvs.port}`,
    `scheduler = ${svc.lvs.scheduler}`,
    `config = ${pybalConfigUrl(pooldUrl, svc)}`,
    `depool-threshold = ${svc.depoolThreshold}`,
    ...(svc.lvs.method === 'i' ? ['tunneling = true'] : []),
    // PyBal announces every service by default; only an explicit `bgp: false` is written.
    ...(svc.lvs.bgp === false ? ['bgp = no'] : []),
    // Absent: PyBal's [global] bgp-med, as the agent's --bgp-med.
    ...(svc.lvs.bgpMed !== undefined ? [`bgp-med = ${svc.lvs.bgpMed}`] : []),
    `monitors = [ ${monitors.map((m) => JSON.stringify(m)).join(', ')} ]`,
    ...monitorLines,
  ].map((line) => line.replace(/%/g, '%%'));
  return [`[${section}]`, `# ${servicePath(svc)}: pool ${svc.pool.cluster}/${svc.pool.service}`, ...own, ...options];
}

/** Sections in name order, as pybal.conf.erb writes them (it sorts by service, then by VIP label). */
function bySection(a: ServiceDef, b: ServiceDef): number {
  return a.name.localeCompare(b.name, 'en') || a.dc.localeCompare(b.dc, 'en');
}

/** Renders one pybal.conf for the given services, with the DO NOT EDIT header. */
export function renderPybal(services: ServiceDef[], pooldUrl: string, title = 'pybal.conf', opts: PybalRenderOptions = {}): RenderedPybal {
  const mode = opts.mode ?? 'monitors';
  const sorted = [...services].sort(bySection);
  const warnings: PybalRenderWarning[] = [];
  const out = [
    `# ${title}: generated by poold from pools/*.yaml. DO NOT EDIT: edit pools/ and regenerate`,
    '# with `poolctl lvs render-pybal`; `poolctl drift` reports any difference from pools/.',
    ...(mode === 'driven'
      ? ['# Driven by poold: each section pools exactly what poold decides (enabled in its server list).']
      : [
          // One line, so line numbers in deployed files (drift reports cite them) stay where they were.
          "# Monitors mirror poold's checks: PyBal pools only what poold's list AND they pass (render --driven to apply poold's decision).",
        ]),
  ];
  for (const svc of sorted) {
    out.push('');
    out.push(...(mode === 'driven' ? renderDrivenSection(svc, pooldUrl, warnings, opts) : renderSection(svc, pooldUrl, warnings)));
  }
  return { text: `${out.join('\n')}\n`, warnings };
}

/** The pybal.conf for one datacenter (lvs-configs/<dc>.conf). */
export function renderPybalForDc(services: ServiceDef[], dc: string, pooldUrl: string, opts: PybalRenderOptions = {}): string {
  return renderPybal(
    services.filter((s) => s.dc === dc),
    pooldUrl,
    `lvs-configs/${dc}.conf`,
    opts,
  ).text;
}

/** The poold URL the committed lvs-configs/ use: the service name convention plus PyBal's instrumentation port. */
export function defaultPooldUrl(dc: string): string {
  return `http://poold.svc.${dc}.wmnet:9090`;
}
