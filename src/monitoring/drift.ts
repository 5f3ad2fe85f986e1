// Drift: does the deployed pybal.conf / Icinga config still check what pools/ says? (The cxserver outage:
// PyBal checked `/`, Icinga `/_info`, for hours.) Every difference is reported with both sides.
import type { HttpCheckDef, ServiceDef } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { formatProblem, UsageError, type ConfigProblem } from '../model/errors.js';
import { parsePybalConf, type PybalServiceConf } from '../config/pybal-parse.js';
import { formatStatusRanges, httpCheckHostHeader, proxyFetchPlan, pybalConfigUrl } from '../config/pybal-render.js';
import type { PybalServerEntry } from '../config/pybal-servers.js';
import { isDrivenSection } from '../config/pybal-driven.js';
import { parseIcinga2, parseNagios, type IcingaObject, type IcingaValue } from './icinga-parse.js';
import { POOLD_ALERTS, POOLD_CHECK, httpCheckVars } from './monitoring-plan.js';
import { NAGIOS_STATES, pluginText, type NagiosOutput } from './nagios-output.js';

export interface DriftItem {
  /** dc/name of the LVS service, or the deployed name when pools/ has no such service. */
  service: string;
  source: 'pybal' | 'icinga';
  /** What differs: `check path`, `Host header`, `port`, `timeout`, `expected status`, `depool threshold`, `backends`, `service`... */
  field: string;
  /** What pools/ says. */
  expected: string;
  /** What the deployed file says. */
  actual: string;
  /** file:line of the deployed side, when known. */
  where?: string;
}

export interface DriftReport {
  items: DriftItem[];
  /** What could not be compared (e.g. an http server list that cannot be fetched offline). */
  warnings: string[];
  compared: { pybal: boolean; icinga: boolean; services: number };
}

export interface DriftInput {
  services: ServiceDef[];
  /** Which datacenter the deployed files are for; needed when `services` spans several. */
  dc?: string;
  pybal?: {
    text: string;
    file: string;
    /** Server lists by `config =` value, when the caller could read them (file:// paths). */
    serverLists?: Record<string, Record<string, PybalServerEntry>>;
    /** When given, `config =` must point at poold's server list for the service. */
    pooldUrl?: string;
  };
  icinga?: { text: string; file: string; format?: 'icinga2' | 'nagios' };
}

const fmtList = (xs: readonly (string | number)[]) => (xs.length === 0 ? '(none)' : xs.join(', '));

function firstHttp(svc: ServiceDef): HttpCheckDef | undefined {
  return svc.checks.find((c): c is HttpCheckDef => c.kind === 'http');
}

function statusAccepts(check: HttpCheckDef, status: number): boolean {
  return check.expect.status.some((r) => status >= r.from && status <= r.to);
}

/** Backend set differences, both directions. */
function backendItems(svc: ServiceDef, actual: string[], source: DriftItem['source'], where: string | undefined, what: string): DriftItem[] {
  const expected = Object.keys(svc.servers).sort();
  const have = new Set(actual);
  const missing = expected.filter((h) => !have.has(h));
  const extra = [...have].filter((h) => !svc.servers[h]).sort();
  const items: DriftItem[] = [];
  if (missing.length) items.push({ service: servicePath(svc), source, field: 'missing backends', expected: fmtList(missing), actual: `not in ${what}`, where });
  if (extra.length) items.push({ service: servicePath(svc), source, field: 'extra backends', expected: 'not in pools/', actual: fmtList(extra), where });
  return items;
}

function comparePybalService(svc: ServiceDef, p: PybalServiceConf, input: NonNullable<DriftInput['pybal']>, report: DriftReport): void {
  const where = `${input.file}:${p.line}`;
  const at = (opt: string) => {
    const o = p.section.options.get(opt);
    return o ? `${input.file}:${o.line}` : where;
  };
  const add = (field: string, expected: string | number, actual: string | number, opt?: string) => {
    if (String(expected) !== String(actual)) report.items.push({ service: servicePath(svc), source: 'pybal', field, expected: String(expected), actual: String(actual), where: opt ? at(opt) : where });
  };
  add('ip', svc.lvs.ip, p.ip, 'ip');
  add('port', svc.lvs.port, p.port, 'port');
  add('protocol', svc.lvs.protocol, p.protocol, 'protocol');
  add('scheduler', svc.lvs.scheduler, p.scheduler, 'scheduler');
  add('depool threshold', svc.depoolThreshold, p.depoolThreshold, 'depool-threshold');
  // PyBal can only express direct routing and IPIP (`tunneling`); -m is a render warning, not drift.
  if (svc.lvs.method !== 'm') add('tunneling', svc.lvs.method === 'i' ? 'yes' : 'no', p.tunneling ? 'yes' : 'no', 'tunneling');
  add('bgp', svc.lvs.bgp === false ? 'no' : 'yes', p.bgp ? 'yes' : 'no', 'bgp');
  // Absent on both sides means the global MED (--bgp-med / [global] bgp-med).
  add('bgp-med', svc.lvs.bgpMed ?? 'global', p.bgpMed ?? 'global', 'bgp-med');
  if (input.pooldUrl) add('config URL', pybalConfigUrl(input.pooldUrl, svc), p.config, 'config');
  // A driven section checks nothing itself: it must read poold's list, whose `enabled` carries the checks.
  if (isDrivenSection(p)) {
    if (!input.pooldUrl && !p.config.endsWith(`/pybal/${servicePath(svc)}`)) add('driven server list', `poold's /pybal/${servicePath(svc)}`, p.config, 'config');
    return;
  }

  const plan = proxyFetchPlan(svc);
  if (plan && !p.proxyfetch) {
    add('monitors', 'ProxyFetch (http check)', fmtList(p.monitors), 'monitors');
  } else if (!plan && p.proxyfetch) {
    add('monitors', 'no ProxyFetch (pools/ has no http check)', fmtList(p.monitors), 'monitors');
  } else if (plan && p.proxyfetch) {
    const urls = p.proxyfetch.urls.map((u) => /^(https?):\/\/([^/]+)(\/.*)?$/.exec(u)).filter((m): m is RegExpExecArray => m !== null);
    add('check path', fmtList(plan.paths), fmtList(urls.map((m) => m[3] ?? '/')), 'proxyfetch.url');
    add('Host header', plan.host, fmtList([...new Set(urls.map((m) => m[2]))]), 'proxyfetch.url');
    add('scheme', plan.scheme, fmtList([...new Set(urls.map((m) => m[1]))]), 'proxyfetch.url');
    // ProxyFetch always connects to the service port.
    add('check port', plan.port, p.port, 'port');
    add('timeout', `${plan.timeoutS}s`, `${p.proxyfetch.timeoutS}s`, 'proxyfetch.timeout');
    if (!plan.checks.some((c) => statusAccepts(c, p.proxyfetch!.httpStatus))) {
      add('expected status', formatStatusRanges(plan.checks[0].expect.status), p.proxyfetch.httpStatus, 'proxyfetch.http_status');
    }
    if (plan.paths.length > 1) add('check all URLs', plan.checkAll ? 'yes' : 'no', p.proxyfetch.checkAll ? 'yes' : 'no', 'proxyfetch.check_all');
  }
  const idle = svc.checks.some((c) => c.kind === 'idle-connection');
  if (idle !== Boolean(p.idleconnection)) add('IdleConnection monitor', idle ? 'yes' : 'no', p.idleconnection ? 'yes' : 'no', 'monitors');
  const cmd = svc.checks.find((c) => c.kind === 'command');
  if (Boolean(cmd) !== Boolean(p.runcommand)) add('RunCommand monitor', cmd ? 'yes' : 'no', p.runcommand ? 'yes' : 'no', 'monitors');
  else if (cmd && cmd.kind === 'command' && p.runcommand) add('command', cmd.argv[0], p.runcommand.command, 'runcommand.command');

  const list = input.serverLists?.[p.config];
  if (list) report.items.push(...backendItems(svc, Object.keys(list), 'pybal', at('config'), `the server list ${p.config}`));
  // poold's own server list for this service is built from pools/ and etcd: nothing to compare.
  else if (p.config.endsWith(`/pybal/${servicePath(svc)}`)) return;
  else if (/^https?:\/\//.test(p.config)) report.warnings.push(`${servicePath(svc)}: server list ${p.config} is an http URL, not fetched offline; backends not compared`);
  else report.warnings.push(`${servicePath(svc)}: server list ${p.config} not available; backends not compared`);
}

function comparePybal(services: ServiceDef[], input: NonNullable<DriftInput['pybal']>, report: DriftReport): void {
  const conf = parsePybalConf(input.text, input.file);
  report.warnings.push(...conf.warnings.map(formatProblem));
  const sections = new Map(conf.services.map((s) => [s.name, s]));
  for (const svc of services) {
    const name = svc.name;
    const p = sections.get(name);
    sections.delete(name);
    if (!p) {
      report.items.push({ service: servicePath(svc), source: 'pybal', field: 'service', expected: `section [${name}] for ${svc.lvs.ip}:${svc.lvs.port}`, actual: `missing from ${input.file}` });
      continue;
    }
    comparePybalService(svc, p, input, report);
  }
  for (const extra of sections.values()) {
    report.items.push({ service: extra.name, source: 'pybal', field: 'service', expected: 'not in pools/', actual: `section [${extra.name}] for ${extra.ip}:${extra.port}`, where: `${input.file}:${extra.line}` });
  }
}

function str(v: IcingaValue | undefined): string {
  if (v === undefined) return '(unset)';
  if (Array.isArray(v)) return fmtList(v.map((x) => String(x)));
  return String(v);
}

/** ITL `http` (check_http) vars that correspond to the poold http check. */
function compareCheckHttp(svc: ServiceDef, http: HttpCheckDef, o: IcingaObject, file: string, report: DriftReport): void {
  const a = o.attrs;
  const where = `${file}:${o.line}`;
  const add = (field: string, expected: string, actual: IcingaValue | undefined, defaultActual?: string) => {
    const act = actual === undefined && defaultActual !== undefined ? defaultActual : str(actual);
    if (expected !== act) report.items.push({ service: servicePath(svc), source: 'icinga', field, expected, actual: act, where });
  };
  add('check path', fmtList(http.urls), a['vars.http_uri'], '/');
  add('Host header', httpCheckHostHeader(http, svc), a['vars.http_vhost'], '(unset)');
  add('check port', String(http.port ?? svc.lvs.port), a['vars.http_port'], http.scheme === 'https' ? '443' : '80');
  add('timeout', String(http.timeoutMs / 1000), a['vars.http_timeout'], '10');
  const expect = a['vars.http_expect'];
  if (expect !== undefined) {
    const codes = String(expect).split(',').map((x) => Number(/\d{3}/.exec(x)?.[0]));
    if (!codes.every((c) => statusAccepts(http, c))) add('expected status', formatStatusRanges(http.expect.status), expect);
  }
}

function compareIcinga(services: ServiceDef[], input: NonNullable<DriftInput['icinga']>, report: DriftReport): void {
  const parsed = (input.format ?? (/^\s*define\s+\w+\s*\{/m.test(input.text) ? 'nagios' : 'icinga2')) === 'nagios' ? parseNagios(input.text, input.file) : parseIcinga2(input.text, input.file);
  report.warnings.push(...parsed.warnings.map((w: ConfigProblem) => formatProblem(w)));
  const svcObjs = parsed.objects.filter((o) => o.type === 'Service');
  const byPath = new Map(services.map((s) => [servicePath(s), s]));
  const vhostOwner = new Map<string, ServiceDef>();
  for (const s of services) {
    const h = firstHttp(s);
    if (h) vhostOwner.set(httpCheckHostHeader(h, s), s);
  }
  const seen = new Set<string>();
  const backendsSeen = new Map<string, Array<{ host: string; obj: IcingaObject }>>();

  for (const o of svcObjs) {
    const a = o.attrs;
    const cmd = str(a.check_command);
    let path = typeof a['vars.poold_service'] === 'string' ? (a['vars.poold_service'] as string) : undefined;
    const args = Array.isArray(a.check_args) ? a.check_args.map(String) : [];
    if (!path && cmd === POOLD_CHECK && args[0]) path = args[0];
    if (!path && (cmd === 'http' || cmd === 'check_http') && typeof a['vars.http_vhost'] === 'string') path = vhostOwner.has(a['vars.http_vhost']) ? servicePath(vhostOwner.get(a['vars.http_vhost'])!) : undefined;
    if (!path) continue;
    const where = `${input.file}:${o.line}`;
    const svc = byPath.get(path);
    if (!svc) {
      report.items.push({ service: path, source: 'icinga', field: 'service', expected: 'not in pools/', actual: `${o.type} "${o.name}" on ${str(a.host_name)}`, where });
      continue;
    }
    seen.add(path);
    const http = firstHttp(svc);
    if (cmd === POOLD_CHECK) {
      const backend = typeof a['vars.poold_backend'] === 'string' ? (a['vars.poold_backend'] as string) : (args[1] ?? str(a.host_name));
      const list = backendsSeen.get(path) ?? [];
      list.push({ host: backend, obj: o });
      backendsSeen.set(path, list);
      if (http && a['vars.poold_http_paths'] !== undefined) {
        const exp = httpCheckVars(http, svc);
        const pairs: Array<[string, string]> = [
          ['check path', 'poold_http_paths'],
          ['Host header', 'poold_http_host'],
          ['check port', 'poold_http_port'],
          ['timeout', 'poold_http_timeout'],
          ['expected status', 'poold_http_status'],
        ];
        for (const [field, key] of pairs) {
          const e = str(exp[key] as IcingaValue);
          const act = str(a[`vars.${key}`]);
          if (e !== act) report.items.push({ service: path, source: 'icinga', field, expected: e, actual: `${act} (on ${backend})`, where });
        }
      }
    } else if (cmd === POOLD_ALERTS) {
      const t = a['vars.poold_depool_threshold'];
      if (t !== undefined && Number(t) !== svc.depoolThreshold) report.items.push({ service: path, source: 'icinga', field: 'depool threshold', expected: String(svc.depoolThreshold), actual: str(t), where });
    } else if ((cmd === 'http' || cmd === 'check_http') && http) {
      compareCheckHttp(svc, http, o, input.file, report);
    }
  }
  for (const svc of services) {
    const path = servicePath(svc);
    if (!seen.has(path)) {
      report.items.push({ service: path, source: 'icinga', field: 'service', expected: `Icinga services for ${path}`, actual: `missing from ${input.file}` });
      continue;
    }
    const seenBackends = backendsSeen.get(path);
    if (seenBackends) report.items.push(...backendItems(svc, seenBackends.map((b) => b.host), 'icinga', `${input.file}:${seenBackends[0].obj.line}`, input.file));
  }
}

/** Compares the deployed files against pools/. Throws ConfigError when a deployed file cannot be parsed. */
export function detectDrift(input: DriftInput): DriftReport {
  const dcs = [...new Set(input.services.map((s) => s.dc))];
  if (!input.dc && dcs.length > 1) throw new UsageError(`pools/ spans datacenters ${dcs.sort().join(', ')}; say which one the deployed files are for (--dc)`, { dcs });
  const services = input.dc ? input.services.filter((s) => s.dc === input.dc) : input.services;
  const report: DriftReport = { items: [], warnings: [], compared: { pybal: Boolean(input.pybal), icinga: Boolean(input.icinga), services: services.length } };
  if (input.pybal) comparePybal(services, input.pybal, report);
  if (input.icinga) compareIcinga(services, input.icinga, report);
  return report;
}

export function formatDriftItem(i: DriftItem): string {
  return `${i.service}: ${i.source} ${i.field}: pools/ says ${i.expected}, deployed has ${i.actual}${i.where ? ` (${i.where})` : ''}`;
}

/** Human-readable report, one line per difference. */
export function formatDrift(r: DriftReport): string {
  if (r.items.length === 0) return `no drift: ${r.compared.services} services agree with pools/`;
  return r.items.map(formatDriftItem).join('\n');
}

/** CRITICAL (2) when anything drifted, OK (0) otherwise; one long-output line per difference. */
export function driftToNagios(r: DriftReport): NagiosOutput {
  const compared = [r.compared.pybal ? 'pybal.conf' : '', r.compared.icinga ? 'Icinga' : ''].filter(Boolean).join(' and ') || 'nothing';
  if (r.items.length === 0) {
    return { exit: 0, output: `POOLD OK - no drift: ${compared} agree with pools/ for ${r.compared.services} services | drift=0;;1;0` };
  }
  const services = [...new Set(r.items.map((i) => i.service))];
  const first = `POOLD ${NAGIOS_STATES[2]} - drift in ${services.length} service${services.length > 1 ? 's' : ''} (${pluginText(services.join(', '))}): ${pluginText(formatDriftItem(r.items[0]))} | drift=${r.items.length};;1;0`;
  return { exit: 2, output: [first, ...r.items.map((i) => pluginText(formatDriftItem(i)))].join('\n') };
}
