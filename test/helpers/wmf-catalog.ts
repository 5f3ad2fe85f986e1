// Test and bench helper, not a product feature: renders the pybal.conf that Wikimedia's puppet writes on an
// LVS host from the public service catalog (../shared/wmf, see its README), so import, drift and the
// benches run on a real site's topology. It follows operations-puppet at the commit the data comes from
// (d359088), read for behaviour only:
//   - selection (wmflib::service::get_services_for_lvs, on a host of class `secondary`, which carries every
//     class): the service has an `lvs` block, its state is not service_setup, and the site is in `sites`.
//     `lvs.enabled` is not looked at (a service with enabled: false is still in pybal.conf);
//   - rendering (modules/pybal/templates/pybal.conf.erb with config = etcd): services sorted by name, one
//     section per VIP label of `ip.<site>` sorted by label (`default` → the service's name), values printed
//     the Ruby way (arrays with #inspect, floats with Float#to_s);
//   - data as hiera reads it: YAML 1.1 with merge keys (`<<: *prometheus_default`) applied, `%{::site}`
//     replaced by the site.
// Per-site host settings (etcd endpoint, ipip_enabled, class hosts) are those of hieradata/role/<site>/lvs/
// balancer.yaml and profile::lvs::configuration at that commit.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The repository root: the nearest directory above this module with a package.json (also when run from dist/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * The shared Wikimedia data directory: $POOLD_WMF_DATA, or `../shared/wmf` from the repository root (the
 * main checkout), or `../../shared/wmf` (a worktree one level deeper). Throws when none exists: tests on
 * the real topology must not pass vacuously.
 */
export function wmfDataDir(): string {
  const root = repoRoot();
  const candidates = [process.env.POOLD_WMF_DATA, join(root, '..', 'shared', 'wmf'), join(root, '..', '..', 'shared', 'wmf')].filter(
    (d): d is string => typeof d === 'string' && d !== '',
  );
  const found = candidates.find((d) => existsSync(join(d, 'hieradata', 'common', 'service.yaml')));
  if (!found) throw new Error(`Wikimedia's catalog not found (looked in ${candidates.join(', ')}); set POOLD_WMF_DATA to the shared wmf directory`);
  return found;
}

/** Paths of the real data files, relative to the repository root when possible (for messages). */
export function wmfFiles(): { catalog: string; nodes: (dc: string) => string } {
  const dir = wmfDataDir();
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return r.startsWith('..') || r === '' ? r || p : r;
  };
  return {
    catalog: rel(join(dir, 'hieradata', 'common', 'service.yaml')),
    nodes: (dc) => rel(join(dir, 'conftool-data', 'node', `${dc}.yaml`)),
  };
}

export interface LvsSiteSettings {
  /** profile::pybal::config_host:etcd_port */
  configHost: string;
  /** profile::pybal::ipip_enabled */
  ipipEnabled: boolean;
  /** profile::lvs::configuration lvs_class_hosts[class][site] */
  classHosts: Record<string, string[]>;
  /** The [global] options profile::pybal builds for the rendering host. */
  global: Record<string, string>;
}

// Documentation addresses (RFC 5737 / 3849) stand in for the rendering host's own, which the data does not carry.
const HOST_V4 = '192.0.2.20';
export const SITE_SETTINGS: Record<string, LvsSiteSettings> = {
  eqiad: {
    configHost: 'conf1007.eqiad.wmnet:4001',
    ipipEnabled: true,
    classHosts: { 'high-traffic1': ['lvs1017', 'lvs1020'], 'high-traffic2': ['lvs1018', 'lvs1020'], 'low-traffic': ['lvs1019', 'lvs1020'] },
    global: {
      bgp: 'yes',
      'bgp-peer-address': "[ '208.80.154.196', '208.80.154.197' ]",
      'bgp-nexthop-ipv4': HOST_V4,
      'bgp-nexthop-ipv6': '2001:db8::20',
      instrumentation: 'yes',
      instrumentation_ips: `[ '127.0.0.1', '::1', '${HOST_V4}' ]`,
      'bgp-local-ips': `[ '${HOST_V4}' ]`,
      'bgp-med': '0',
    },
  },
  codfw: {
    configHost: 'conf2004.codfw.wmnet:4001',
    ipipEnabled: true,
    classHosts: { 'high-traffic1': ['lvs2011', 'lvs2014'], 'high-traffic2': ['lvs2012', 'lvs2014'], 'low-traffic': ['lvs2013', 'lvs2014'] },
    global: {
      bgp: 'yes',
      'bgp-peer-address': "[ '10.192.37.1' ]",
      'bgp-nexthop-ipv4': HOST_V4,
      'bgp-nexthop-ipv6': '2001:db8::20',
      instrumentation: 'yes',
      instrumentation_ips: `[ '127.0.0.1', '::1', '${HOST_V4}' ]`,
      'bgp-local-ips': `[ '${HOST_V4}' ]`,
      'bgp-med': '0',
    },
  },
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Hiera's `%{::site}` in every string, keys included. */
function interpolate(v: unknown, site: string): unknown {
  if (typeof v === 'string') return v.replace(/%\{(::)?site\}/g, site);
  if (Array.isArray(v)) return v.map((x) => interpolate(x, site));
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [interpolate(k, site) as string, interpolate(x, site)]));
  return v;
}

export interface CatalogOptions {
  /**
   * Read as hiera does (YAML 1.1, merge keys applied, as Ruby's Psych). Default true; false reads the file
   * with the yaml library's defaults (YAML 1.2, `<<` a plain key), as a quick script would.
   */
  mergeKeys?: boolean;
}

/** `service::catalog` as hiera hands it to puppet for `site`. */
export function loadCatalog(text: string, site: string, o: CatalogOptions = {}): Record<string, Obj> {
  const opts = (o.mergeKeys ?? true) ? ({ version: '1.1', merge: true } as const) : ({ version: '1.2', merge: false } as const);
  const data = parse(text, { ...opts, maxAliasCount: -1 }) as Obj;
  return interpolate(data['service::catalog'], site) as Record<string, Obj>;
}

const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The catalog services puppet renders into a site's pybal.conf, in template order. */
export function pybalServices(catalog: Record<string, Obj>, site: string): Array<[string, Obj]> {
  return Object.entries(catalog)
    .filter(([, s]) => isObj(s.lvs) && s.state !== 'service_setup' && Array.isArray(s.sites) && s.sites.includes(site))
    .sort(([a], [b]) => byteOrder(a, b));
}

/** Ruby's String#inspect for the ASCII text the catalog holds. */
function rubyString(s: string): string {
  const esc = s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/#(?=[{$@])/g, '\\#').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
  return `"${esc}"`;
}

/** Ruby's #to_s of a YAML value (numbers as JavaScript prints them: the catalog has no 1.0-style floats there). */
function rubyToS(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return rubyInspect(v);
  if (isObj(v)) return `{${Object.entries(v).map(([k, x]) => `${rubyString(k)}=>${rubyInspect(x)}`).join(', ')}}`;
  return String(v);
}

function rubyInspect(v: unknown): string {
  if (typeof v === 'string') return rubyString(v);
  if (Array.isArray(v)) return `[${v.map(rubyInspect).join(', ')}]`;
  if (v === null || v === undefined) return 'nil';
  return rubyToS(v);
}

/** A Float from YAML prints with its fraction in Ruby; the catalog writes thresholds as 0.5, 0.66... */
function rubyFloat(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v)) return `${v}.0`;
  return rubyToS(v);
}

export interface RenderOptions extends CatalogOptions {
  /** Defaults to SITE_SETTINGS[site]. */
  settings?: LvsSiteSettings;
  conftoolPrefix?: string;
  /** profile::pybal::config_source: etcd (Wikimedia's LVS hosts, the default here) or http (config-master lists). */
  config?: 'etcd' | 'http';
}

/** pybal.conf for an LVS host of `site` that carries every class, with `config = etcd://…` sections (or http://). */
export function renderWmfPybalConf(catalogText: string, site: string, o: RenderOptions = {}): string {
  const settings = o.settings ?? SITE_SETTINGS[site];
  if (!settings) throw new Error(`no LVS host settings for site ${site}; pass settings`);
  const prefix = o.conftoolPrefix ?? '/conftool/v1';
  const g = settings.global;
  const out: string[] = [
    '# PyBal configuration file',
    '# This file is managed by Puppet!',
    '',
    '[global]',
    `bgp = ${g.bgp ?? 'no'}`,
    'bgp-local-asn = 64600',
    `bgp-peer-address = ${g['bgp-peer-address'] ?? ''}`,
    '#bgp-as-path = 64600 64601',
    `bgp-nexthop-ipv4 = ${g['bgp-nexthop-ipv4'] ?? ''}`,
    `bgp-nexthop-ipv6 = ${g['bgp-nexthop-ipv6'] ?? ''}`,
    `instrumentation = ${g.instrumentation ?? 'yes'}`,
  ];
  if (g.instrumentation_ips) out.push(`instrumentation_ips = ${g.instrumentation_ips}`);
  if (g.advertised_instrumentation_ips) out.push(`advertised_instrumentation_ips = ${g.advertised_instrumentation_ips}`);
  if (g['bgp-local-ips']) out.push(`bgp-local-ips = ${g['bgp-local-ips']}`);
  if (g['bgp-med'] !== undefined) out.push('# Lower values prefered over higher ones', `bgp-med = ${g['bgp-med']}`);
  out.push('', g['dry-run'] ? `dry-run = ${g['dry-run']}` : '', '#', '# LVS service definitions', '#', '');
  for (const [name, svc] of pybalServices(loadCatalog(catalogText, site, o), site)) {
    const ips = (svc.ip as Record<string, Record<string, string>>)[site];
    if (!isObj(ips)) throw new Error(`${name}: no ip.${site} (puppet's template fails on it too)`);
    const lvs = svc.lvs as Obj;
    const protocol = (lvs.protocol as string | undefined) ?? 'tcp';
    for (const [label, ip] of Object.entries(ips).sort(([a], [b]) => byteOrder(a, b))) {
      const sub = label === 'default' ? name : label;
      const conftool = lvs.conftool as { cluster: string; service: string };
      const ipip = Array.isArray(lvs.ipip_encapsulation) ? (lvs.ipip_encapsulation as string[]) : [];
      out.push(
        `# SERVICE ${sub}`,
        `# Class: ${String(lvs.class)}`,
        `# Description: ${rubyToS(svc.description)}`,
        `# LVS balancers: ${(settings.classHosts[String(lvs.class)] ?? []).join(' ')}`,
        protocol !== 'tcp' ? `[${sub}_${String(svc.port)}_${protocol}]` : `[${sub}_${String(svc.port)}]`,
        `protocol = ${protocol}`,
        `ip = ${ip}`,
        `port = ${String(svc.port)}`,
        `scheduler = ${(lvs.scheduler as string | undefined) ?? 'wrr'}`,
        'ops = false',
        `tunneling = ${settings.ipipEnabled && ipip.includes(site)}`,
        '',
        (o.config ?? 'etcd') === 'etcd'
          ? `config = etcd://${settings.configHost}${prefix}/pools/${site}/${conftool.cluster}/${conftool.service}/`
          : `config = http://config-master.${site}.wmnet/pybal/${site}/${name}`,
        '',
      );
      if ('bgp' in lvs) out.push(`bgp = ${rubyToS(lvs.bgp)}`);
      out.push(`depool-threshold = ${rubyFloat(lvs.depool_threshold)}`);
      if ('monitors' in lvs && isObj(lvs.monitors)) {
        const monitors = lvs.monitors as Record<string, Obj | null>;
        out.push(`monitors = ${rubyInspect(Object.keys(monitors).sort(byteOrder))}`, '');
        for (const m of Object.keys(monitors).sort(byteOrder)) {
          out.push(`# ${m} monitor configuration`);
          const params = monitors[m] ?? {};
          for (const p of Object.keys(params).sort(byteOrder)) {
            const v = params[p];
            out.push(`${m.toLowerCase()}.${p} = ${Array.isArray(v) ? rubyInspect(v) : rubyToS(v)}`);
          }
        }
      }
      out.push('');
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** Reads the real catalog and renders `site`'s pybal.conf. */
export function renderRealPybalConf(site: string, o: RenderOptions = {}): string {
  return renderWmfPybalConf(readFileSync(join(wmfDataDir(), 'hieradata', 'common', 'service.yaml'), 'utf8'), site, o);
}

export interface CatalogCounts {
  /** Catalog services in the site's pybal.conf. */
  services: number;
  /** PyBal sections (one per VIP label). */
  sections: number;
  /** Sections per conftool pool `<cluster>/<service>`. */
  sectionsByPool: Record<string, number>;
  /** Services whose monitors include each PyBal monitor. */
  servicesByMonitor: Record<string, number>;
  sectionsByMonitor: Record<string, number>;
}

/** Figures about a site's pybal.conf, computed from the catalog (the README's figures are these). */
export function catalogCounts(catalogText: string, site: string, o: CatalogOptions = {}): CatalogCounts {
  const c: CatalogCounts = { services: 0, sections: 0, sectionsByPool: {}, servicesByMonitor: {}, sectionsByMonitor: {} };
  for (const [, svc] of pybalServices(loadCatalog(catalogText, site, o), site)) {
    const n = Object.keys((svc.ip as Record<string, Obj>)[site] ?? {}).length;
    const lvs = svc.lvs as Obj;
    const conftool = lvs.conftool as { cluster: string; service: string };
    c.services++;
    c.sections += n;
    const pool = `${conftool.cluster}/${conftool.service}`;
    c.sectionsByPool[pool] = (c.sectionsByPool[pool] ?? 0) + n;
    for (const m of Object.keys(isObj(lvs.monitors) ? lvs.monitors : {})) {
      c.servicesByMonitor[m] = (c.servicesByMonitor[m] ?? 0) + 1;
      c.sectionsByMonitor[m] = (c.sectionsByMonitor[m] ?? 0) + n;
    }
  }
  return c;
}
