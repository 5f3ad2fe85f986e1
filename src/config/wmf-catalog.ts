// Wikimedia's service catalog (operations-puppet hieradata/common/service.yaml, `service::catalog`), read
// for one datacenter: each service's load-balancer side (VIPs, port, PyBal monitors, conftool pool) and its
// monitoring side (probes), each with the line it is written on. Read as Puppet reads it: YAML 1.1, merge
// keys applied, hiera's `%{::site}` replaced by the dc. Which services PyBal serves in a dc follows
// puppet's selection for an LVS host (wmflib::service::get_services_for_lvs plus the pybal.conf template).
import { ConfigError, type ConfigProblem } from '../model/errors.js';
import { sectionName, type LvsProtocol } from '../model/types.js';
import type { Pos } from './pools/yaml-locate.js';
import { child, entry, parseLocatedYaml, type LocatedNode } from './yaml-located.js';

export interface CatalogVip {
  /** The key under `ip.<dc>`: `default`, or a VIP label (`textlb`, `textlb6`). */
  label: string;
  ip: string;
  at: Pos;
}

export interface CatalogMonitor {
  /** PyBal monitor name as written (`IdleConnection`, `ProxyFetch`, ...). */
  name: string;
  /** Its options, as puppet writes them as `<monitor>.<option>` lines. */
  params: Record<string, unknown>;
  at: Pos;
}

export interface CatalogUrl {
  url: string;
  at: Pos;
}

export interface CatalogLvs {
  enabled: boolean;
  class: string;
  scheduler?: string;
  protocol?: string;
  depoolThreshold: unknown;
  conftool: { cluster: string; service: string };
  conftoolAt: Pos;
  monitors: CatalogMonitor[];
  /** Where `monitors:` is written (or `lvs:` when there is none). */
  monitorsAt: Pos;
  /** ProxyFetch's `url` entries, each with its line. */
  proxyFetchUrls: CatalogUrl[];
  bgp?: boolean;
  ipipEncapsulation: string[];
  at: Pos;
}

export interface CatalogProbe {
  type: string;
  path?: string;
  host?: string;
  postJson?: string;
  mustContainRegexp?: string;
  validStatusCodes?: number[];
  expectSso?: boolean;
  expectRedirect?: boolean;
  timeout?: string;
  /** Where the probe starts. */
  at: Pos;
  /** Where its `path:` is written, when it has one. */
  pathAt?: Pos;
}

export interface CatalogService {
  name: string;
  at: Pos;
  description?: string;
  port?: number;
  encryption: boolean;
  state?: string;
  sites: string[];
  /** VIPs in this dc (`ip.<dc>`), in label order as pybal.conf.erb sorts them. */
  vips: CatalogVip[];
  lvs?: CatalogLvs;
  probes: CatalogProbe[];
  /** `discovery[].dnsdisc` names, in order. */
  discovery: string[];
  aliases: string[];
}

export interface WmfCatalog {
  file: string;
  dc: string;
  services: CatalogService[];
  problems: ConfigProblem[];
}

const CATALOG_KEY = 'service::catalog';
/** Hiera interpolation of the node's site: the only one the catalog uses. */
const SITE = /%\{(::)?site\}/g;
const ANY_INTERPOLATION = /%\{[^}]*\}/;

type Problem = (at: Pos, message: string) => void;

function str(n: LocatedNode | undefined): string | undefined {
  return typeof n?.value === 'string' ? n.value : undefined;
}

function strings(n: LocatedNode | undefined): string[] {
  return (n?.seq ?? []).map((i) => i.value).filter((v): v is string => typeof v === 'string');
}

function parseLvs(svc: string, node: LocatedNode, problem: Problem): CatalogLvs | undefined {
  if (!node.map) {
    problem(node.at, `${svc}: lvs must be a map`);
    return undefined;
  }
  const conftool = child(node, 'conftool');
  const cluster = str(child(conftool, 'cluster'));
  const service = str(child(conftool, 'service'));
  if (cluster === undefined || service === undefined) {
    problem(conftool?.at ?? node.at, `${svc}: lvs.conftool needs cluster and service (the conftool pool of the real servers)`);
    return undefined;
  }
  const monitorsEntry = entry(node, 'monitors');
  const monitors: CatalogMonitor[] = [];
  const proxyFetchUrls: CatalogUrl[] = [];
  if (monitorsEntry && !monitorsEntry.node.map) problem(monitorsEntry.node.at, `${svc}: lvs.monitors must be a map of monitor name to options`);
  for (const [name, e] of monitorsEntry?.node.map ?? []) {
    const params = e.node.map ? (e.node.value as Record<string, unknown>) : {};
    if (e.node.value !== null && !e.node.map) problem(e.node.at, `${svc}: options of monitor ${name} must be a map`);
    monitors.push({ name, params, at: e.keyAt });
    if (name === 'ProxyFetch') {
      const url = child(e.node, 'url');
      for (const u of url?.seq ?? (url ? [url] : [])) {
        if (typeof u.value === 'string') proxyFetchUrls.push({ url: u.value, at: u.at });
        else problem(u.at, `${svc}: ProxyFetch url entries must be strings`);
      }
    }
  }
  const bgp = child(node, 'bgp')?.value;
  return {
    enabled: child(node, 'enabled')?.value === true,
    class: str(child(node, 'class')) ?? '',
    scheduler: str(child(node, 'scheduler')),
    protocol: str(child(node, 'protocol')),
    depoolThreshold: child(node, 'depool_threshold')?.value,
    conftool: { cluster, service },
    conftoolAt: entry(node, 'conftool')!.keyAt,
    monitors,
    monitorsAt: monitorsEntry?.keyAt ?? node.at,
    proxyFetchUrls,
    ...(typeof bgp === 'boolean' ? { bgp } : {}),
    ipipEncapsulation: strings(child(node, 'ipip_encapsulation')),
    at: node.at,
  };
}

function parseProbe(svc: string, node: LocatedNode, problem: Problem): CatalogProbe | undefined {
  const type = str(child(node, 'type'));
  if (type === undefined) {
    problem(node.at, `${svc}: a probe needs a type (http, tcp, tcp-notls, swagger)`);
    return undefined;
  }
  const p: CatalogProbe = { type, at: node.at };
  const path = entry(node, 'path');
  if (path && typeof path.node.value === 'string') {
    p.path = path.node.value;
    p.pathAt = path.keyAt;
  }
  const s = (k: string) => str(child(node, k));
  const host = s('host');
  if (host !== undefined) p.host = host;
  const postJson = s('post_json');
  if (postJson !== undefined) p.postJson = postJson;
  const must = s('must_contain_regexp');
  if (must !== undefined) p.mustContainRegexp = must;
  const timeout = s('timeout');
  if (timeout !== undefined) p.timeout = timeout;
  const codes = child(node, 'valid_status_codes')?.value;
  if (Array.isArray(codes)) p.validStatusCodes = codes.filter((c): c is number => typeof c === 'number');
  if (child(node, 'expect_sso')?.value === true) p.expectSso = true;
  if (child(node, 'expect_redirect')?.value === true) p.expectRedirect = true;
  return p;
}

function parseService(name: string, keyAt: Pos, node: LocatedNode, dc: string, problem: Problem): CatalogService | undefined {
  if (!node.map) {
    problem(node.at, `${name}: a catalog service must be a map`);
    return undefined;
  }
  const port = child(node, 'port')?.value;
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port))) problem(child(node, 'port')!.at, `${name}: port must be an integer`);
  const vips: CatalogVip[] = [];
  for (const [label, e] of child(child(node, 'ip'), dc)?.map ?? []) {
    if (typeof e.node.value === 'string') vips.push({ label, ip: e.node.value, at: e.node.at });
    else problem(e.node.at, `${name}: ip.${dc}.${label} must be an address`);
  }
  // pybal.conf.erb sorts a service's VIPs by label (Ruby's byte order).
  vips.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const lvsNode = child(node, 'lvs');
  const probes: CatalogProbe[] = [];
  for (const p of child(node, 'probes')?.seq ?? []) {
    const probe = parseProbe(name, p, problem);
    if (probe) probes.push(probe);
  }
  const svc: CatalogService = {
    name,
    at: keyAt,
    encryption: child(node, 'encryption')?.value === true,
    sites: strings(child(node, 'sites')),
    vips,
    probes,
    discovery: (child(node, 'discovery')?.seq ?? []).map((d) => str(child(d, 'dnsdisc'))).filter((d): d is string => d !== undefined),
    aliases: strings(child(node, 'aliases')),
  };
  if (typeof port === 'number') svc.port = port;
  const description = str(child(node, 'description'));
  if (description !== undefined) svc.description = description;
  const state = str(child(node, 'state'));
  if (state !== undefined) svc.state = state;
  if (lvsNode) {
    const lvs = parseLvs(name, lvsNode, problem);
    if (lvs) svc.lvs = lvs;
  }
  return svc;
}

/**
 * Parses the catalog text for one dc. Problems (syntax, wrong types, unknown interpolations) are
 * returned, each located; services with problems of their own are still listed when usable.
 */
export function parseWmfCatalog(text: string, file: string, dc: string): WmfCatalog {
  const problems: ConfigProblem[] = [];
  const doc = parseLocatedYaml(text, file, {
    transform(s, _at, problem) {
      const out = s.replace(SITE, dc);
      const left = ANY_INTERPOLATION.exec(out);
      if (left) problem(`hiera interpolation ${left[0]} is not supported here (only %{::site})`);
      return out;
    },
  });
  problems.push(...doc.problems);
  const problem: Problem = (at, message) => problems.push({ file, ...at, message });
  const services: CatalogService[] = [];
  const catalog = entry(doc.root, CATALOG_KEY);
  if (!catalog?.node.map) {
    problems.push({ file, ...(catalog?.keyAt ?? { line: 1, col: 1 }), message: `expected a map under ${CATALOG_KEY} (hieradata/common/service.yaml)` });
  } else {
    for (const [name, e] of catalog.node.map) {
      const svc = parseService(name, e.keyAt, e.node, dc, problem);
      if (svc) services.push(svc);
    }
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return { file, dc, services, problems };
}

/** parseWmfCatalog, but any problem is a ConfigError listing all of them. */
export function parseWmfCatalogOrThrow(text: string, file: string, dc: string): WmfCatalog {
  const cat = parseWmfCatalog(text, file, dc);
  if (cat.problems.length > 0) throw new ConfigError(cat.problems);
  return cat;
}

/**
 * The services PyBal serves in the catalog's dc, as puppet selects them for an LVS host that carries every
 * class (get_services_for_lvs: an `lvs` block, state other than service_setup, the dc in `sites`) and the
 * pybal.conf template renders them (one section per VIP of `ip.<dc>`). `lvs.enabled` is not part of that
 * selection: a service with `enabled: false` is still in pybal.conf. A selected service without a VIP in
 * the dc would fail puppet's template; it is reported.
 */
export function lvsServices(cat: WmfCatalog): { services: CatalogService[]; problems: ConfigProblem[] } {
  const services: CatalogService[] = [];
  const problems: ConfigProblem[] = [];
  for (const s of cat.services) {
    if (!s.lvs || s.state === 'service_setup' || !s.sites.includes(cat.dc)) continue;
    if (s.vips.length === 0 || s.port === undefined) {
      problems.push({ file: cat.file, ...s.at, message: `${s.name} is load-balanced in ${cat.dc} (lvs, sites) but has no ${s.vips.length === 0 ? `ip.${cat.dc}` : 'port'}` });
      continue;
    }
    services.push(s);
  }
  services.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { services, problems };
}

/** The PyBal sections of one catalog service in the catalog's dc: `<label>_<port>[_<protocol>]`, `default` being the service's name. */
export function catalogSections(s: CatalogService): Array<{ section: string; vip: CatalogVip }> {
  const protocol = (s.lvs?.protocol ?? 'tcp') as LvsProtocol;
  return s.vips.map((vip) => ({ section: sectionName(vip.label === 'default' ? s.name : vip.label, s.port ?? 0, protocol), vip }));
}

/** Section name → its catalog service, for every LVS service of the dc. */
export function sectionIndex(cat: WmfCatalog): Map<string, CatalogService> {
  const out = new Map<string, CatalogService>();
  for (const s of lvsServices(cat).services) for (const { section } of catalogSections(s)) out.set(section, s);
  return out;
}

/**
 * The name the monitoring probe sends as Host and TLS SNI (wmflib::service::probe::http_module_options): the
 * first probe's `host`, else the first discovery name, else the first alias, else `<service>.svc.<dc>.wmnet`.
 */
export function probeServerName(s: CatalogService, dc: string): string {
  const first = s.probes[0]?.host;
  if (first !== undefined) return first;
  if (s.discovery.length > 0) return `${s.discovery[0]}.discovery.wmnet`;
  if (s.aliases.length > 0) return `${s.aliases[0]}.svc.${dc}.wmnet`;
  return `${s.name}.svc.${dc}.wmnet`;
}
