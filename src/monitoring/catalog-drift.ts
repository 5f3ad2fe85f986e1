// Drift inside Wikimedia's service catalog: each load-balanced service says twice what healthy means, once
// for PyBal (`lvs.monitors`) and once for monitoring (`probes`). When they disagree, the load balancer keeps
// serving from a backend that monitoring calls broken, or the reverse (the cxserver outage: PyBal held a TCP
// connection while monitoring fetched /_info). Every disagreement is reported with both sides and where
// each is written. Differences operators keep on purpose are acknowledged in pools/ (`drift_ack` on an LVS
// service of that catalog service) and listed apart, so what is left stays actionable.
import type { ServiceDef } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { catalogSections, lvsServices, type CatalogProbe, type CatalogService, type WmfCatalog } from '../config/wmf-catalog.js';
import { NAGIOS_STATES, pluginText, type NagiosOutput } from './nagios-output.js';

/**
 * - `lvs-tcp-only`: PyBal makes no HTTP request (IdleConnection, or no monitor) while monitoring probes an HTTP path.
 * - `path`: both fetch over HTTP, but different paths.
 * - `query`: same paths, different query strings.
 * - `probe-tcp-only`: PyBal fetches URLs while monitoring only opens TCP connections.
 */
export type CatalogDriftKind = 'lvs-tcp-only' | 'path' | 'query' | 'probe-tcp-only';
export const CATALOG_DRIFT_KINDS: readonly CatalogDriftKind[] = ['lvs-tcp-only', 'path', 'query', 'probe-tcp-only'];

export interface DriftSide {
  /** What this side checks, in words. */
  says: string;
  /** file:line where it is written. */
  at: string;
}

export interface CatalogDriftItem {
  /** The catalog service. */
  service: string;
  /** Its PyBal sections (LVS services) in the dc. */
  sections: string[];
  kind: CatalogDriftKind;
  lvs: DriftSide;
  monitoring: DriftSide;
}

export interface AcknowledgedDrift extends CatalogDriftItem {
  reason: string;
  /** The pools/ LVS service carrying the acknowledgement (`dc/name`). */
  ackedBy: string;
}

export interface CatalogDriftReport {
  dc: string;
  catalog: string;
  /** Load-balanced catalog services compared. */
  compared: number;
  actionable: CatalogDriftItem[];
  acknowledged: AcknowledgedDrift[];
  /** Acknowledgements in pools/ that match no drift any more: remove them. */
  unusedAcks: Array<{ ackedBy: string; kind: string; reason: string }>;
  /** Services whose two sides cannot be compared, and why. */
  notCompared: Array<{ service: string; why: string }>;
  /** Where acknowledgements were read from, or undefined when none were given. */
  acksFrom?: string;
}

interface Url {
  path: string;
  query: string;
  text: string;
  at: string;
}

function httpPath(p: CatalogProbe): { path: string; query: string } {
  // blackbox probes `/` when the probe names no path (wmflib::service::probe::targets).
  const full = p.path ?? '/';
  const q = full.indexOf('?');
  return q < 0 ? { path: full, query: '' } : { path: full.slice(0, q), query: full.slice(q) };
}

const sameSet = (a: string[], b: string[]) => {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
};

const list = (xs: string[]) => [...new Set(xs)].join(', ');

function compare(s: CatalogService, file: string, out: CatalogDriftReport): CatalogDriftItem[] {
  const lvs = s.lvs!;
  const where = (line: number) => `${file}:${line}`;
  const sections = catalogSections(s).map((x) => x.section);
  const urls: Url[] = [];
  for (const u of lvs.proxyFetchUrls) {
    let parsed: URL;
    try {
      parsed = new URL(u.url);
    } catch {
      out.notCompared.push({ service: s.name, why: `ProxyFetch url ${JSON.stringify(u.url)} (${where(u.at.line)}) is not a URL` });
      return [];
    }
    urls.push({ path: parsed.pathname, query: parsed.search, text: u.url, at: where(u.at.line) });
  }
  const http = s.probes.filter((p) => p.type === 'http');
  const swagger = s.probes.filter((p) => p.type === 'swagger');
  const tcp = s.probes.filter((p) => p.type.startsWith('tcp'));
  const probeSide = (): DriftSide => {
    const paths = http.map((p) => p.path ?? '/');
    const first = http[0];
    return { says: `http probe${http.length > 1 ? 's' : ''} ${list(paths)}`, at: where((first.pathAt ?? first.at).line) };
  };
  const item = (kind: CatalogDriftKind, lvsSide: DriftSide, monitoring: DriftSide): CatalogDriftItem => ({ service: s.name, sections, kind, lvs: lvsSide, monitoring });

  if (urls.length === 0) {
    const monitors = lvs.monitors.map((m) => m.name);
    const lvsSide = { says: `${monitors.length ? `monitors ${monitors.join(', ')}` : 'no monitor'}: no HTTP request`, at: where(lvs.monitorsAt.line) };
    if (http.length > 0) return [item('lvs-tcp-only', lvsSide, probeSide())];
    if (swagger.length > 0) {
      out.notCompared.push({ service: s.name, why: `PyBal makes no HTTP request (${lvsSide.at}) and monitoring probes with swagger (${where(swagger[0].at.line)}): the paths of the service's OpenAPI spec, not one path` });
    }
    return [];
  }
  const lvsSide = (shown: Url[]): DriftSide => ({ says: `ProxyFetch ${list(shown.map((u) => u.text))}`, at: shown[0].at });
  if (http.length > 0) {
    const probePaths = http.map(httpPath);
    if (!sameSet(urls.map((u) => u.path), probePaths.map((p) => p.path))) return [item('path', lvsSide(urls), probeSide())];
    if (!sameSet(urls.map((u) => u.path + u.query), probePaths.map((p) => p.path + p.query))) return [item('query', lvsSide(urls), probeSide())];
    return [];
  }
  if (tcp.length > 0 && swagger.length === 0) {
    return [item('probe-tcp-only', lvsSide(urls), { says: `${list(tcp.map((p) => p.type))} probe: TCP only`, at: where(tcp[0].at.line) })];
  }
  return [];
}

/**
 * Compares each load-balanced service's PyBal monitors with its monitoring probes in the catalog's dc.
 * `services` (pools/) supplies the acknowledgements: an LVS service of that dc whose `catalog` is the
 * drifting catalog service, with a `drift_ack` of that kind.
 */
export function catalogDrift(cat: WmfCatalog, services?: ServiceDef[], acksFrom?: string): CatalogDriftReport {
  const selected = lvsServices(cat).services;
  const report: CatalogDriftReport = { dc: cat.dc, catalog: cat.file, compared: selected.length, actionable: [], acknowledged: [], unusedAcks: [], notCompared: [] };
  if (services !== undefined) report.acksFrom = acksFrom ?? 'pools/';
  const acks = (services ?? []).filter((d) => d.dc === cat.dc && (d.driftAcks?.length ?? 0) > 0);
  const used = new Set<string>();
  for (const s of selected) {
    for (const it of compare(s, cat.file, report)) {
      const def = acks.find((d) => d.catalog === it.service && d.driftAcks!.some((a) => a.kind === it.kind));
      if (!def) {
        report.actionable.push(it);
        continue;
      }
      const ack = def.driftAcks!.find((a) => a.kind === it.kind)!;
      used.add(`${servicePath(def)}\u0000${ack.kind}`);
      report.acknowledged.push({ ...it, reason: ack.reason, ackedBy: servicePath(def) });
    }
  }
  for (const d of acks) {
    for (const a of d.driftAcks!) {
      if (!used.has(`${servicePath(d)}\u0000${a.kind}`)) report.unusedAcks.push({ ackedBy: servicePath(d), kind: a.kind, reason: a.reason });
    }
  }
  return report;
}

export function formatCatalogDriftItem(i: CatalogDriftItem): string {
  return `${i.service} [${i.kind}]: LVS ${i.lvs.says} (${i.lvs.at}); monitoring ${i.monitoring.says} (${i.monitoring.at})`;
}

function countByKind(items: CatalogDriftItem[]): string {
  return CATALOG_DRIFT_KINDS.map((k) => [k, items.filter((i) => i.kind === k).length] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/**
 * Nagios plugin output, as `poolctl drift` gives it: CRITICAL (2) when any drift is not acknowledged, OK
 * (0) otherwise. Acknowledged items, stale acknowledgements and services that cannot be compared are listed
 * in the long output and do not change the state.
 */
export function catalogDriftToNagios(r: CatalogDriftReport): NagiosOutput {
  const perf = `| drift=${r.actionable.length};;1;0 acknowledged=${r.acknowledged.length};;;0`;
  const acked = `${r.acknowledged.length} acknowledged${r.acksFrom ? '' : ' (no acknowledgements read: pass --pools DIR)'}`;
  const lines = [
    ...r.actionable.map(formatCatalogDriftItem),
    ...r.acknowledged.map((i) => `acknowledged: ${formatCatalogDriftItem(i)}: ${i.reason} (${i.ackedBy})`),
    ...r.unusedAcks.map((a) => `unused acknowledgement: ${a.ackedBy} ${a.kind} (${a.reason}): no such drift now; remove it`),
    ...r.notCompared.map((n) => `not compared: ${n.service}: ${n.why}`),
  ].map(pluginText);
  const scope = `${r.compared} LVS services of ${r.dc} in ${r.catalog}`;
  if (r.actionable.length === 0) return { exit: 0, output: [`POOLD OK - ${pluginText(`no catalog drift in ${scope}; ${acked}`)} ${perf}`, ...lines].join('\n') };
  const services = new Set(r.actionable.map((i) => i.service)).size;
  const head = `catalog drift in ${services} of ${scope} (${countByKind(r.actionable)}); ${acked}`;
  return { exit: 2, output: [`POOLD ${NAGIOS_STATES[2]} - ${pluginText(head)} ${perf}`, ...lines].join('\n') };
}
