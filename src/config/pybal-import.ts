// pybal.conf → pools/*.yaml text. Everything that cannot be carried over becomes a warning naming the
// section, option and line (and a comment in the YAML): nothing is dropped silently. Warnings about an
// essential setting (VIP, port, protocol, scheduler, pool and its servers, threshold, checks) make the
// import fail (importSucceeded). The result is checked with the pools/ loader, so an import that would
// not load says why.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Document, isMap, type YAMLMap } from 'yaml';
import type { ConfigProblem } from '../model/errors.js';
import { ConfigError } from '../model/errors.js';
import { sectionName } from '../model/types.js';
import { CONFTOOL_NEW_NODE, parseConftoolNodes, type ConftoolNodes } from './conftool-nodes.js';
import { parsePybalConf, pybalBoolean, uninterpretedOptions, type PybalConf, type PybalServiceConf } from './pybal-parse.js';
import { PyName } from './pybal-literal.js';
import { configMasterPool, nodeServers, parseConfigMasterUrl, parseEtcdPoolUrl } from './pybal-import-pools.js';
import { probeCheck } from './pybal-import-probe.js';
import { parsePybalServerList, serverListPath, type PybalServerEntry } from './pybal-servers.js';
import { parsePoolsText } from './pools/index.js';
import { parseWmfCatalogOrThrow, sectionIndex, type CatalogService, type WmfCatalog } from './wmf-catalog.js';

export interface PybalImportOptions {
  dc: string;
  /** conftool cluster for file:// and http:// lists: one for all services, or per section name. Sections without one use their own name (with a warning). */
  cluster?: string | Record<string, string>;
  /** conftool-data's node file: the hosts of the pools `config = etcd://…` names (and config-master lists, with a catalog). */
  nodes?: ConftoolNodes;
  /** Wikimedia's catalog read for this dc: each section's catalog service, the pool behind config-master lists, and the monitoring probes the checks are taken from. */
  catalog?: WmfCatalog;
}

/** A setting not carried over (or not faithfully). */
export interface ImportWarning extends ConfigProblem {
  /** It is essential: VIP, port, protocol, scheduler, pool and its servers, threshold, or a check. */
  essential: boolean;
}

/** A server list per `config =` value: its entries, or why it could not be read. */
export type ServerLists = Record<string, { servers: Record<string, PybalServerEntry> } | { error: string }>;

export interface PybalImportResult {
  yaml: string;
  /** Everything not carried over, located in the pybal.conf (or the server list). */
  warnings: ImportWarning[];
  /** Problems the pools/ loader finds in the generated YAML (e.g. a service with no servers). */
  problems: ConfigProblem[];
}

/** Nothing essential was lost and the YAML loads: the import can be used as it is. */
export function importSucceeded(r: PybalImportResult): boolean {
  return r.problems.length === 0 && !r.warnings.some((w) => w.essential);
}

/** conftool's own key root, poold's default conftool root (store/keys.ts DEFAULT_ROOTS; config does not import store). */
const CONFTOOL_ROOT = '/conftool/v1';

const NAME_TO_PLACEHOLDER: Record<string, string> = { 'server.host': '{host}', 'server.ip': '{address}', 'server.port': '{port}' };
const CHECK_ALL_OPTIONS = ['proxyfetch.check_all', 'proxyfetch.max_failures'];

interface Ctx {
  file: string;
  svc: PybalServiceConf;
  warnings: ImportWarning[];
  notes: string[];
  /** Options already warned about, so the catch-all for unknown options does not repeat them. */
  warned: Set<string>;
}

function warn(c: Ctx, option: string | null, message: string, essential = false): void {
  const o = option ? c.svc.section.options.get(option) : undefined;
  if (option) c.warned.add(option);
  const text = `[${c.svc.name}]${o ? ` ${o.rawName}` : ''}: ${message}`;
  c.warnings.push({ file: c.file, line: o?.line ?? c.svc.line, col: o ? o.valueCol : 1, message: text, essential });
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
  if (hosts.length > 1) warn(c, 'proxyfetch.url', `URLs use several hosts (${hosts.join(', ')}); poold sends one Host header per check, kept ${hosts[0]}`, true);
  if (schemes.length > 1) warn(c, 'proxyfetch.url', `URLs mix ${schemes.join(' and ')}; kept ${schemes[0]}`, true);
  const ports = parsed.filter((u) => u.port !== '');
  const other = ports.find((u) => Number(u.port) !== c.svc.port);
  if (other) warn(c, 'proxyfetch.url', `port ${other.port} in the URL is ignored by PyBal (it connects to the service port ${c.svc.port}); not carried over`);
  else if (ports.length) {
    warn(c, 'proxyfetch.url', `the URL names port ${ports[0].port}, the service port both PyBal and poold connect to; a check's host has no port, so poold's Host header is ${ports[0].hostname} without :${ports[0].port}`);
  }
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
      warn(c, 'runcommand.arguments', `${a.name} has no poold placeholder (server.host, server.ip, server.port do); passed as the literal text ${JSON.stringify(a.name)}`, true);
      return a.name;
    }),
  ];
}

/** The section's checks; `probe`, when given, is the http check that replaces ProxyFetch (import --catalog). */
function checks(c: Ctx, probe?: Record<string, unknown>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const s = c.svc;
  if (probe) out.push(probe);
  else if (s.proxyfetch) {
    const h = httpCheck(c);
    if (h) out.push(h);
  }
  if (s.idleconnection) {
    const check: Record<string, unknown> = { kind: 'idle-connection' };
    if (has(c, 'idleconnection.timeout-clean-reconnect')) check.reconnect_timeout = secs(s.idleconnection.timeoutCleanReconnectS);
    out.push(check);
    if (has(c, 'idleconnection.max-delay')) {
      warn(c, 'idleconnection.max-delay', 'PyBal backs off its reconnects to a down server up to max-delay seconds; poold retries at every check interval instead (10s by default), so there is no max-delay; not carried over');
    }
    for (const o of ['idleconnection.keepalive', 'idleconnection.keepalive-retries', 'idleconnection.keepalive-idle', 'idleconnection.keepalive-interval']) {
      if (has(c, o)) warn(c, o, 'poold holds the connection with TCP keepalive at fixed settings (10s idle) that pools/ cannot tune; not carried over');
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
  if (s.monitors.includes('UDP')) warn(c, 'monitors', 'the UDP monitor has no poold check kind; not carried over', true);
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

/** A YAML comment on the imported service that is not a warning (nothing lost). */
function note(c: Ctx, message: string): void {
  c.notes.push(message);
}

function servers(c: Ctx, lists: ServerLists): Record<string, Record<string, unknown>> {
  const list = lists[c.svc.config];
  if (!list) {
    const why = /^https?:\/\//.test(c.svc.config)
      ? 'is an http URL, which import does not fetch (it works offline); pass the file with the server list (or, for a config-master list, --catalog and --conftool-nodes)'
      : 'was not read';
    warn(c, 'config', `server list ${c.svc.config} ${why}; servers left empty: add them before loading`, true);
    return {};
  }
  if ('error' in list) {
    warn(c, 'config', `server list ${c.svc.config} could not be used: ${list.error}; servers left empty`, true);
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

/** State shared by the sections of one import. */
interface ImportState {
  opts: PybalImportOptions;
  lists: ServerLists;
  /** `<cluster>/<service>` → the pool's servers, in the order first named. */
  pools: Map<string, Record<string, { weight: number }>>;
  /** etcd endpoints already warned about (said once, at the first section reading each). */
  endpoints: Set<string>;
}

/** The pool a conftool key names, with its hosts from the node file. Returns the service's `pool:`. */
function conftoolPool(c: Ctx, st: ImportState, dc: string, cluster: string, service: string): Record<string, unknown> {
  const ref = `${cluster}/${service}`;
  if (dc !== st.opts.dc) {
    warn(c, 'config', `names the pool of dc ${dc}, but this pybal.conf is imported for dc ${st.opts.dc} (--dc) and a poold LVS service draws from a pool of its own dc; servers left empty`, true);
    return { cluster: c.svc.name, servers: {} };
  }
  if (!st.pools.has(ref)) {
    const nodes = st.opts.nodes;
    const servers = nodes ? nodeServers(nodes, dc, cluster, service) : {};
    if (!nodes) warn(c, 'config', `the hosts of conftool pool ${dc}/${ref} are not in pybal.conf: pass conftool-data's node file (--conftool-nodes); servers left empty`, true);
    else if (Object.keys(servers).length === 0) warn(c, 'config', `no host of ${nodes.file} is in conftool pool ${dc}/${ref} (none lists service ${service} under ${dc}: ${cluster}); servers left empty`, true);
    st.pools.set(ref, servers);
  } else if (Object.keys(st.pools.get(ref)!).length === 0) {
    warn(c, 'config', `conftool pool ${dc}/${ref} has no servers (see the first section naming it)`, true);
  }
  return { pool: ref };
}

/** Where the section's servers come from (`config =`): `{pool}` for conftool pools, `{cluster, servers}` for lists. */
function poolOf(c: Ctx, st: ImportState): Record<string, unknown> {
  const config = c.svc.config;
  if (config.startsWith('etcd://')) {
    const u = parseEtcdPoolUrl(config);
    if (typeof u === 'string') {
      warn(c, 'config', `${config}: ${u}, so the pool is unknown; servers left empty`, true);
      return { cluster: c.svc.name, servers: {} };
    }
    if (u.prefix !== CONFTOOL_ROOT) {
      warn(c, 'config', `conftool keys live under ${u.prefix} here; poold's conftool root is a daemon setting (POOLD_CONFTOOL_ROOT, default ${CONFTOOL_ROOT}), not pools/; not carried over`);
    }
    if (!st.endpoints.has(u.endpoint)) {
      st.endpoints.add(u.endpoint);
      warn(c, 'config', `PyBal reads its pools from etcd at ${u.endpoint}; poold's etcd endpoints are its own setting (--etcd, POOLD_ETCD), not pools/; not carried over (said once for every section reading ${u.endpoint})`);
    }
    return conftoolPool(c, st, u.dc, u.cluster, u.service);
  }
  const cm = parseConfigMasterUrl(config);
  const cmPool = cm && st.opts.nodes ? configMasterPool(st.opts.catalog, cm.service) : undefined;
  if (cm && cmPool) {
    note(c, `config-master renders ${config} from conftool pool ${cm.dc}/${cmPool.cluster}/${cmPool.service} (the catalog's ${cm.service}.lvs.conftool); imported as that pool`);
    return conftoolPool(c, st, cm.dc, cmPool.cluster, cmPool.service);
  }
  return { cluster: clusterFor(c, st.opts), servers: servers(c, st.lists) };
}

/** Under --catalog: the http check taken from the service's monitoring probe, or undefined to keep PyBal's monitors. */
function probeFor(c: Ctx, cat: CatalogService | undefined, opts: PybalImportOptions): Record<string, unknown> | undefined {
  const catalog = opts.catalog;
  if (!catalog) return undefined;
  if (!cat) {
    warn(c, null, `not a load-balanced service of ${catalog.file} in ${opts.dc}, so no monitoring probe to take the checks from; PyBal's monitors kept`);
    return undefined;
  }
  const pc = probeCheck(cat, opts.dc);
  if (pc === undefined) return undefined;
  const at = `${catalog.file}:${(pc.probe.pathAt ?? pc.probe.at).line}`;
  if ('reason' in pc) {
    warn(c, 'monitors', `monitoring's probe (${at}): ${pc.reason}; PyBal's monitors kept, so the load balancer and monitoring still check differently`);
    return undefined;
  }
  const s = c.svc;
  const was = s.proxyfetch ? `ProxyFetch ${s.proxyfetch.urls.join(' ')}` : 'monitors, which made no HTTP request';
  const kept = s.monitors.filter((m) => m !== 'ProxyFetch');
  const redirects = pc.probe.expectRedirect || pc.probe.expectSso ? '' : '; the blackbox probe follows redirects, poold\'s check does not';
  const dropped = pc.dropped.length ? `; not taken from the probe: ${pc.dropped.join(', ')}` : '';
  warn(
    c,
    'monitors',
    `checks follow monitoring's probe (${at}), one definition for both: ${pc.summary}, in place of PyBal's ${was}${kept.length ? ` (${kept.join(', ')} kept)` : ''}${redirects}${dropped}`,
  );
  return pc.check;
}

/** The services key: the section name without `_<port>[_<protocol>]`, so the loader gives back the section name. */
function labelOf(c: Ctx): string {
  const s = c.svc;
  const suffix = sectionName('', s.port, s.protocol);
  if (s.name.length > suffix.length && s.name.endsWith(suffix)) return s.name.slice(0, -suffix.length);
  const poold = sectionName(s.name, s.port, s.protocol);
  warn(c, null, `the section name does not end in ${suffix}: poold names this LVS service ${poold} (<name>${suffix}, as pybal.conf.erb does), so PyBal's /pools/${s.name} is /pools/${poold}`);
  return s.name;
}

function lvsOf(c: Ctx): Record<string, unknown> {
  const s = c.svc;
  const lvs: Record<string, unknown> = { ip: s.ip, port: s.port, protocol: s.protocol, scheduler: s.scheduler };
  // tunneling = true is IPIP forwarding (ipvsadm -i).
  if (s.tunneling) lvs.method = 'i';
  // Per-service bgp = no is pools/ `bgp: false` (yes is the default).
  if (!s.bgp) lvs.bgp = false;
  // Per-service bgp-med is pools/ `bgp_med` (absent: the agent's --bgp-med, PyBal's [global] bgp-med).
  if (s.bgpMed !== undefined) lvs.bgp_med = s.bgpMed;
  const ops = s.section.options.get('ops');
  if (ops && pybalBoolean(ops.value)) warn(c, 'ops', 'one-packet scheduling (ipvsadm -o, for UDP services) has no pools/ setting; not carried over');
  return lvs;
}

/** `host: { weight: 0 }` on one line each: a 240-host pool stays readable. */
function flowServerMaps(doc: Document): void {
  for (const top of ['pools', 'services']) {
    const map = doc.get(top, true);
    if (!isMap(map)) continue;
    for (const pair of map.items) {
      const servers = isMap(pair.value) ? pair.value.get('servers', true) : undefined;
      if (isMap(servers)) for (const p of servers.items) if (isMap(p.value)) p.value.flow = true;
    }
  }
}

/** Converts parsed pybal.conf to pools YAML. Pure: server lists, node file and catalog are passed in. */
export function importPybalConf(conf: PybalConf, opts: PybalImportOptions, lists: ServerLists): PybalImportResult {
  const warnings: ImportWarning[] = conf.warnings.map((w) => ({ ...w, essential: false }));
  if (conf.global) {
    for (const o of conf.global.options.values()) {
      warnings.push({ file: conf.file, line: o.line, col: o.valueCol, message: `[global] ${o.rawName}: BGP and instrumentation settings belong to the LVS host (poolctl lvs agent --bgp-*), not pools/; not carried over`, essential: false });
    }
  }
  const st: ImportState = { opts, lists, pools: new Map(), endpoints: new Set() };
  const bySection = opts.catalog ? sectionIndex(opts.catalog) : undefined;
  const sections: Array<{ c: Ctx; label: string; def: Record<string, unknown> }> = [];
  for (const svc of conf.services) {
    const c: Ctx = { file: conf.file, svc, warnings, notes: [], warned: new Set() };
    const label = labelOf(c);
    const cat = bySection?.get(svc.name);
    const cm = parseConfigMasterUrl(svc.config);
    const catalog = cat?.name ?? cm?.service;
    const def: Record<string, unknown> = {};
    if (catalog !== undefined && catalog !== label) def.catalog = catalog;
    Object.assign(def, poolOf(c, st));
    const probe = probeFor(c, cat, opts);
    def.lvs = lvsOf(c);
    def.depool_threshold = svc.depoolThreshold;
    def.checks = checks(c, probe);
    if (!svc.proxyfetch) for (const o of CHECK_ALL_OPTIONS) if (has(c, o)) warn(c, o, 'belongs to ProxyFetch, which monitors does not list; not carried over');
    for (const o of uninterpretedOptions(svc)) {
      if (c.warned.has(o.name)) continue;
      warn(c, o.name, 'not understood by poold (or its monitor is not listed in monitors); not carried over');
    }
    sections.push({ c, label, def });
  }

  // One map cannot hold a label twice (textlb_80 and textlb_443): such sections are keyed by their full name.
  const uses = new Map<string, number>();
  for (const s of sections) uses.set(s.label, (uses.get(s.label) ?? 0) + 1);
  const services: Record<string, unknown> = {};
  const notesByKey = new Map<string, string[]>();
  for (const s of sections) {
    const key = uses.get(s.label)! > 1 ? s.c.svc.name : s.label;
    services[key] = s.def;
    notesByKey.set(key, s.c.notes);
  }

  const pools: Record<string, unknown> = {};
  for (const ref of [...st.pools.keys()].sort()) pools[ref] = { servers: st.pools.get(ref) };
  const doc = new Document(st.pools.size > 0 ? { dc: opts.dc, pools, services } : { dc: opts.dc, services });
  flowServerMaps(doc);
  const header = [` Imported by poold from ${conf.file}.`, ' PyBal has no rise/fall: checks are imported with rise: 1, fall: 1 to keep its behaviour.'];
  if (opts.nodes && st.pools.size > 0) {
    header.push(
      ` Pool hosts come from ${opts.nodes.file}, which has no weights: each gets weight ${CONFTOOL_NEW_NODE.weight}, what conftool gives a node`,
      ` it creates (pooled: ${CONFTOOL_NEW_NODE.pooled}). poolctl sync keeps the weight of hosts already in etcd.`,
    );
  }
  if (opts.catalog) header.push(` Checks follow the monitoring probes of ${opts.catalog.file} where a service has an http probe.`);
  header.push(warnings.length ? ` ${warnings.length} setting(s) were not carried over as they were; see the comments below.` : ' Every setting was carried over.');
  doc.commentBefore = header.join('\n');
  const svcNode = doc.get('services', true);
  if (isMap(svcNode)) {
    for (const pair of (svcNode as YAMLMap).items) {
      const notes = notesByKey.get(String((pair.key as { value?: unknown }).value ?? pair.key));
      if (notes?.length && pair.key && typeof pair.key === 'object') {
        (pair.key as { commentBefore?: string }).commentBefore = notes.map((n) => ` NOTE: ${n}`).join('\n');
      }
    }
  }
  const yaml = doc.toString({ lineWidth: 0 });
  const problems = parsePoolsText(yaml, `${opts.dc}.yaml (imported)`).problems;
  warnings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col);
  return { yaml, warnings, problems };
}

export interface PybalImportFiles {
  dc: string;
  cluster?: PybalImportOptions['cluster'];
  /** conftool-data node file (`conftool-data/node/<dc>.yaml`). */
  nodesFile?: string;
  /** Wikimedia's service catalog (`hieradata/common/service.yaml`). */
  catalogFile?: string;
}

/**
 * Reads a pybal.conf, the local server lists it names (`file://` or plain paths, relative to the
 * pybal.conf's directory), and the node file and catalog when given, then imports. Throws ConfigError
 * when one of those files is malformed.
 */
export async function importPybalFile(path: string, files: PybalImportFiles): Promise<PybalImportResult> {
  const conf = parsePybalConf(await readFile(path, 'utf8'), path);
  const opts: PybalImportOptions = { dc: files.dc, cluster: files.cluster };
  if (files.nodesFile) opts.nodes = parseConftoolNodes(await readFile(files.nodesFile, 'utf8'), files.nodesFile);
  if (files.catalogFile) opts.catalog = parseWmfCatalogOrThrow(await readFile(files.catalogFile, 'utf8'), files.catalogFile, files.dc);
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
