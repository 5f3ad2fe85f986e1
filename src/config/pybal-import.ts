// pybal.conf → pools/*.yaml text. Everything that cannot be carried over becomes a warning naming the
// section, option and line (and a comment in the YAML): nothing is dropped silently. The result is
// checked with the pools/ loader, so an import that would not load says why.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Document, isMap, type YAMLMap } from 'yaml';
import type { ConfigProblem } from '../model/errors.js';
import { ConfigError } from '../model/errors.js';
import { parsePybalConf, uninterpretedOptions, type PybalConf, type PybalServiceConf } from './pybal-parse.js';
import { PyName } from './pybal-literal.js';
import { parsePybalServerList, serverListPath, type PybalServerEntry } from './pybal-servers.js';
import { parsePoolsText } from './pools/index.js';

export interface PybalImportOptions {
  dc: string;
  /** conftool cluster: one for all services, or per section name. Sections without one use their own name (with a warning). */
  cluster?: string | Record<string, string>;
}

/** A server list per `config =` value: its entries, or why it could not be read. */
export type ServerLists = Record<string, { servers: Record<string, PybalServerEntry> } | { error: string }>;

export interface PybalImportResult {
  yaml: string;
  /** Everything not carried over, located in the pybal.conf (or the server list). */
  warnings: ConfigProblem[];
  /** Problems the pools/ loader finds in the generated YAML (e.g. a service with no servers). */
  problems: ConfigProblem[];
}

const NAME_TO_PLACEHOLDER: Record<string, string> = { 'server.host': '{host}', 'server.ip': '{address}', 'server.port': '{port}' };
const CHECK_ALL_OPTIONS = ['proxyfetch.check_all', 'proxyfetch.max_failures'];

interface Ctx {
  file: string;
  svc: PybalServiceConf;
  warnings: ConfigProblem[];
  notes: string[];
  /** Options already warned about, so the catch-all for unknown options does not repeat them. */
  warned: Set<string>;
}

function warn(c: Ctx, option: string | null, message: string): void {
  const o = option ? c.svc.section.options.get(option) : undefined;
  if (option) c.warned.add(option);
  const text = `[${c.svc.name}]${o ? ` ${o.rawName}` : ''}: ${message}`;
  c.warnings.push({ file: c.file, line: o?.line ?? c.svc.line, col: o ? o.valueCol : 1, message: text });
  c.notes.push(`${o ? `${o.rawName} (line ${o.line})` : `line ${c.svc.line}`}: ${message}`);
}

function has(c: Ctx, option: string): boolean {
  return c.svc.section.options.has(option);
}

function secs(n: number): string {
  return `${n}s`;
}

function httpCheck(c: Ctx): Record<string, unknown> | null {
  const pf = c.svc.proxyfetch!;
  const parsed = pf.urls.map((u) => new URL(u));
  if (parsed.length === 0) return null;
  const hosts = [...new Set(parsed.map((u) => u.hostname))];
  const schemes = [...new Set(parsed.map((u) => u.protocol.replace(':', '')))];
  if (hosts.length > 1) warn(c, 'proxyfetch.url', `URLs use several hosts (${hosts.join(', ')}); poold sends one Host header per check, kept ${hosts[0]}`);
  if (schemes.length > 1) warn(c, 'proxyfetch.url', `URLs mix ${schemes.join(' and ')}; kept ${schemes[0]}`);
  const ports = parsed.filter((u) => u.port !== '');
  if (ports.length) warn(c, 'proxyfetch.url', `port ${ports[0].port} in the URL is ignored by PyBal (it connects to the service port ${c.svc.port}); not carried over`);
  const paths = parsed.map((u) => `${u.pathname}${u.search}`);
  const check: Record<string, unknown> = { kind: 'http' };
  if (paths.length === 1) check.path = paths[0];
  else check.urls = paths;
  if (pf.checkAll) {
    check.check_all = true;
    check.max_failures = pf.maxFailures;
  } else if (has(c, 'proxyfetch.max_failures')) {
    warn(c, 'proxyfetch.max_failures', 'only applies with check_all (PyBal ignores it here); not carried over');
  }
  check.host = hosts[0];
  if (schemes[0] !== 'http') {
    check.scheme = schemes[0];
    // PyBal's ProxyFetch does not verify certificates; keep that, visibly.
    check.tls = { verify: false };
    warn(c, 'proxyfetch.url', 'https: PyBal did not verify certificates, imported as tls.verify: false; consider enabling it');
  }
  if (pf.httpStatus !== 200) check.expect = { status: [pf.httpStatus] };
  if (pf.httpStatus >= 301 && pf.httpStatus <= 303) {
    warn(c, 'proxyfetch.http_status', `PyBal accepts any of 301-303 (and rejects 200) when expecting ${pf.httpStatus}; imported as exactly ${pf.httpStatus}`);
  }
  check.timeout = secs(pf.timeoutS);
  check.interval = secs(pf.intervalS);
  return check;
}

function commandArgs(c: Ctx): string[] {
  const rc = c.svc.runcommand!;
  // PyBal 1.15 keeps runcommand.arguments only when every item is a string; server.port is an int,
  // so with it PyBal silently ran the command with [""]. Say so: after import the arguments apply.
  const nonString = rc.arguments.filter((a) => a instanceof PyName && a.name !== 'server.host' && a.name !== 'server.ip');
  if (nonString.length > 0) {
    warn(c, 'runcommand.arguments', `${nonString.map((a) => (a as PyName).name).join(', ')} is not a string to PyBal, so PyBal ignored this list and ran ${rc.command} with one empty argument; poold will pass these arguments: check that the command works with them`);
  }
  return [
    rc.command,
    ...rc.arguments.map((a) => {
      if (!(a instanceof PyName)) return a;
      const p = NAME_TO_PLACEHOLDER[a.name];
      if (p) return p;
      warn(c, 'runcommand.arguments', `${a.name} has no poold placeholder (server.host, server.ip, server.port do); passed as the literal text ${JSON.stringify(a.name)}`);
      return a.name;
    }),
  ];
}

function checks(c: Ctx): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const s = c.svc;
  if (s.proxyfetch) {
    const h = httpCheck(c);
    if (h) out.push(h);
  }
  if (s.idleconnection) {
    const check: Record<string, unknown> = { kind: 'idle-connection' };
    if (has(c, 'idleconnection.timeout-clean-reconnect')) check.reconnect_timeout = secs(s.idleconnection.timeoutCleanReconnectS);
    out.push(check);
    for (const o of ['idleconnection.max-delay', 'idleconnection.keepalive', 'idleconnection.keepalive-retries', 'idleconnection.keepalive-idle', 'idleconnection.keepalive-interval']) {
      if (has(c, o)) warn(c, o, 'poold reconnects at once and has no TCP keepalive tuning; not carried over');
    }
  }
  if (s.runcommand) {
    out.push({ kind: 'command', argv: commandArgs(c), timeout: secs(s.runcommand.timeoutS), interval: secs(s.runcommand.intervalS) });
    if (has(c, 'runcommand.log-output')) warn(c, 'runcommand.log-output', 'poold always records plugin output in the check detail; not carried over');
  }
  if (s.dnsquery) {
    for (const q of s.dnsquery.hostnames) out.push({ kind: 'dns', name: `dns-${q.replace(/[^A-Za-z0-9_.-]/g, '_')}`, query: q, interval: secs(s.dnsquery.intervalS) });
    if (s.dnsquery.failOnNxdomain) warn(c, 'dnsquery.fail-on-nxdomain', 'poold fails a dns check on any failed lookup already; nothing to carry over');
  }
  if (s.monitors.includes('UDP')) warn(c, 'monitors', 'the UDP monitor has no poold check kind; not carried over');
  if (out.length === 0) {
    warn(c, 'monitors', 'no monitor that poold can run, so PyBal saw every server as up; imported as a tcp connect check (pools/ needs one check): review it');
    out.push({ kind: 'tcp' });
  }
  // PyBal has no hysteresis: one result flips a server. Keep that behaviour on import.
  for (const ch of out) {
    ch.rise = 1;
    ch.fall = 1;
  }
  return out;
}

function servers(c: Ctx, lists: ServerLists): Record<string, Record<string, unknown>> {
  const list = lists[c.svc.config];
  if (!list) {
    const why = /^https?:\/\//.test(c.svc.config) ? 'is an http URL, which import does not fetch (it works offline); pass the file with the server list' : 'was not read';
    warn(c, 'config', `server list ${c.svc.config} ${why}; servers left empty: add them before loading`);
    return {};
  }
  if ('error' in list) {
    warn(c, 'config', `server list ${c.svc.config} could not be used: ${list.error}; servers left empty`);
    return {};
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const host of Object.keys(list.servers).sort()) {
    const e = list.servers[host];
    out[host] = { weight: e.weight };
    if (!e.enabled) warn(c, 'config', `${host} is enabled: False in ${c.svc.config} (line ${e.line}); pools/ holds no admin state: after sync run \`poolctl depool ${host}\``);
  }
  return out;
}

function clusterFor(c: Ctx, opts: PybalImportOptions): string {
  const given = typeof opts.cluster === 'string' ? opts.cluster : opts.cluster?.[c.svc.name];
  if (given) return given;
  warn(c, null, `pybal.conf names no conftool cluster; used "${c.svc.name}": set the real one (poolctl import pybal --cluster)`);
  return c.svc.name;
}

/** Converts parsed pybal.conf to pools YAML. Pure: server lists are passed in. */
export function importPybalConf(conf: PybalConf, opts: PybalImportOptions, lists: ServerLists): PybalImportResult {
  const warnings: ConfigProblem[] = [...conf.warnings];
  const services: Record<string, unknown> = {};
  const notesBySection = new Map<string, string[]>();
  if (conf.global) {
    for (const o of conf.global.options.values()) {
      warnings.push({ file: conf.file, line: o.line, col: o.valueCol, message: `[global] ${o.rawName}: BGP and instrumentation settings belong to the LVS host (poolctl lvs agent --bgp-*), not pools/; not carried over` });
    }
  }
  for (const svc of conf.services) {
    const c: Ctx = { file: conf.file, svc, warnings, notes: [], warned: new Set() };
    const lvs: Record<string, unknown> = { ip: svc.ip, port: svc.port, protocol: svc.protocol, scheduler: svc.scheduler };
    // tunneling = true is IPIP forwarding; per-service bgp = no is pools/ `bgp: false` (yes is the default).
    if (svc.tunneling) lvs.method = 'i';
    if (!svc.bgp) lvs.bgp = false;
    const def: Record<string, unknown> = { cluster: clusterFor(c, opts), lvs, depool_threshold: svc.depoolThreshold, checks: checks(c), servers: servers(c, lists) };
    if (has(c, 'bgp-med')) warn(c, 'bgp-med', 'a per-service MED has no pools/ setting: the LVS agent announces every VIP with its --bgp-med; not carried over');
    if (has(c, 'ops')) warn(c, 'ops', 'one-packet scheduling has no pools/ setting; not carried over');
    if (!svc.proxyfetch) for (const o of CHECK_ALL_OPTIONS) if (has(c, o)) warn(c, o, 'belongs to ProxyFetch, which monitors does not list; not carried over');
    for (const o of uninterpretedOptions(svc)) {
      if (c.warned.has(o.name)) continue;
      warn(c, o.name, 'not understood by poold (or its monitor is not listed in monitors); not carried over');
    }
    services[svc.name] = def;
    notesBySection.set(svc.name, c.notes);
  }
  const doc = new Document({ dc: opts.dc, services });
  doc.commentBefore = [
    ` Imported by poold from ${conf.file}.`,
    ' PyBal has no rise/fall: checks are imported with rise: 1, fall: 1 to keep its behaviour.',
    warnings.length ? ` ${warnings.length} setting(s) were not carried over; see the comments below.` : ' Every setting was carried over.',
  ].join('\n');
  const svcMap = doc.get('services', true);
  if (isMap(svcMap)) {
    for (const pair of (svcMap as YAMLMap).items) {
      const notes = notesBySection.get(String((pair.key as { value?: unknown }).value ?? pair.key));
      if (notes?.length && pair.key && typeof pair.key === 'object') {
        (pair.key as { commentBefore?: string }).commentBefore = notes.map((n) => ` NOT CARRIED OVER: ${n}`).join('\n');
      }
    }
  }
  const yaml = doc.toString({ lineWidth: 0 });
  const problems = parsePoolsText(yaml, `${opts.dc}.yaml (imported)`).problems;
  warnings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col);
  return { yaml, warnings, problems };
}

/**
 * Reads a pybal.conf and the local server lists it names (`file://` or plain paths, relative to the
 * pybal.conf's directory), then imports. Throws ConfigError when the pybal.conf itself is malformed.
 */
export async function importPybalFile(path: string, opts: PybalImportOptions): Promise<PybalImportResult> {
  const conf = parsePybalConf(await readFile(path, 'utf8'), path);
  const lists: ServerLists = {};
  for (const svc of conf.services) {
    const local = serverListPath(svc.config);
    if (local === null || lists[svc.config]) continue;
    const full = resolve(dirname(path), local);
    try {
      lists[svc.config] = { servers: parsePybalServerList(await readFile(full, 'utf8'), full) };
    } catch (e) {
      if (e instanceof ConfigError) lists[svc.config] = { error: e.message };
      else if ((e as NodeJS.ErrnoException).code) lists[svc.config] = { error: `${full}: ${(e as Error).message}` };
      else throw e;
    }
  }
  return importPybalConf(conf, opts, lists);
}
