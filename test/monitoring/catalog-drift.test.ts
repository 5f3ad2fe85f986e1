// Drift between the load balancer's monitors and monitoring's probes inside Wikimedia's real catalog, and
// acknowledgements in pools/ that keep it actionable.
import t from 'tap';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWmfCatalog, parseWmfCatalogOrThrow } from '../../src/config/wmf-catalog.js';
import { parsePoolsText } from '../../src/config/pools/index.js';
import { catalogDrift, catalogDriftToNagios, type CatalogDriftItem } from '../../src/monitoring/catalog-drift.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { wmfFiles } from '../helpers/wmf-catalog.js';

const file = wmfFiles().catalog;

async function realCatalog(dc = 'eqiad') {
  return parseWmfCatalogOrThrow(await readFile(file, 'utf8'), file, dc);
}

const names = (items: CatalogDriftItem[], kind: string) => items.filter((i) => i.kind === kind).map((i) => i.service).sort();

t.test('eqiad: every disagreement between LVS monitors and monitoring probes, by kind', async (t) => {
  const r = catalogDrift(await realCatalog());
  t.equal(r.compared, 100);
  // PyBal holds a TCP connection (IdleConnection) while monitoring fetches an HTTP path. 46, not the 45 of
  // the issue: datahubsearch has lvs.enabled: false, but puppet renders it into pybal.conf all the same
  // (get_services_for_lvs does not look at enabled), so PyBal balances it on a TCP check.
  const tcpOnly = names(r.actionable, 'lvs-tcp-only');
  t.equal(tcpOnly.length, 46);
  for (const s of ['cxserver', 'citoid', 'apertium', 'mw-web', 'zotero', 'datahubsearch']) t.ok(tcpOnly.includes(s), `${s} is lvs-tcp-only`);
  t.same(names(r.actionable, 'path'), ['kartotherian-ssl', 'text-https', 'thumbor', 'upload-https']);
  // jobrunner fetches the same path with ?force_php74=1: a query difference, not a path one.
  t.same(names(r.actionable, 'query'), ['jobrunner']);
  t.same(names(r.actionable, 'probe-tcp-only'), []);
  // Services with a ProxyFetch whose probe agrees are not drift (apus: / and /).
  t.notOk(r.actionable.some((i) => i.service === 'apus'));
  // kartotherian's probe is swagger (the spec's paths): not comparable, and said so.
  t.same(r.notCompared.map((n) => n.service), ['kartotherian']);
  t.equal(r.acknowledged.length, 0);
  t.equal(r.acksFrom, undefined);

  const cx = r.actionable.find((i) => i.service === 'cxserver')!;
  t.match(cx, { kind: 'lvs-tcp-only', sections: ['cxserver_4002'], lvs: { says: 'monitors IdleConnection: no HTTP request' }, monitoring: { says: 'http probe /_info' } });
  const karto = r.actionable.find((i) => i.service === 'kartotherian-ssl')!;
  t.match(karto, { kind: 'path', lvs: { says: 'ProxyFetch https://localhost/' }, monitoring: { says: 'http probe /osm-intl/6/23/24.png' } });
  t.same(r.actionable.find((i) => i.service === 'text')?.sections, ['testlb_80', 'testlb6_80', 'textlb_80', 'textlb6_80']);
});

t.test('eqiad: both sides of every item are located, and the line says what the item says', async (t) => {
  const r = catalogDrift(await realCatalog());
  const lines = (await readFile(file, 'utf8')).split('\n');
  const lineOf = (at: string) => {
    const m = /^(.*):(\d+)$/.exec(at)!;
    t.equal(m[1], file);
    return lines[Number(m[2]) - 1];
  };
  for (const i of r.actionable) {
    const lvs = lineOf(i.lvs.at);
    const mon = lineOf(i.monitoring.at);
    if (i.kind === 'lvs-tcp-only') {
      if (!/^\s+monitors:\s*$/.test(lvs)) t.fail(`${i.service}: LVS side ${i.lvs.at} is "${lvs}"`);
    } else if (!lvs.includes(i.lvs.says.replace(/^ProxyFetch /, '').split(', ')[0])) t.fail(`${i.service}: LVS side ${i.lvs.at} is "${lvs}"`);
    const path = i.monitoring.says.replace(/^http probes? /, '').split(', ')[0];
    // A probe without a path probes `/` and is located at the probe itself.
    if (!(mon.includes(`path: ${path}`) || (path === '/' && /- type: http/.test(mon)))) t.fail(`${i.service}: monitoring side ${i.monitoring.at} is "${mon}"`);
  }
  t.equal(r.actionable.length, 51);
});

/** A pools/ file with one LVS service per catalog service, acknowledging the given drift kinds. */
function poolsWithAcks(acks: Record<string, { port: number; kinds: string[] }>): string {
  const services = Object.entries(acks)
    .map(
      ([svc, a]) => `  ${svc}:
    pool: kubernetes/kubesvc
    lvs: { ip: 10.2.2.${a.port % 250}, port: ${a.port} }
    checks: [{ kind: idle-connection }]
    drift_ack:
${a.kinds.map((k) => `      - { kind: ${k}, reason: "checked per node by Kubernetes readiness probes" }`).join('\n')}`,
    )
    .join('\n');
  return `dc: eqiad
pools:
  kubernetes/kubesvc:
    servers:
      kubernetes1005.eqiad.wmnet: { weight: 10 }
services:
${services}
`;
}

t.test('an acknowledgement in pools/ moves the item out of the actionable list; unused ones are reported', async (t) => {
  const loaded = parsePoolsText(poolsWithAcks({ cxserver: { port: 4002, kinds: ['lvs-tcp-only', 'path'] } }), 'eqiad.yaml');
  t.same(loaded.problems, []);
  t.same(loaded.services[0].driftAcks?.map((a) => a.kind), ['lvs-tcp-only', 'path']);
  const r = catalogDrift(await realCatalog(), loaded.services, 'pools/');
  t.equal(r.actionable.length, 50);
  t.notOk(r.actionable.some((i) => i.service === 'cxserver'));
  t.match(r.acknowledged, [{ service: 'cxserver', kind: 'lvs-tcp-only', reason: /readiness/, ackedBy: 'eqiad/cxserver_4002', lvs: { at: /service\.yaml:\d+$/ } }]);
  t.same(r.unusedAcks, [{ ackedBy: 'eqiad/cxserver_4002', kind: 'path', reason: 'checked per node by Kubernetes readiness probes' }]);
  const n = catalogDriftToNagios(r);
  t.equal(n.exit, 2);
  t.match(n.output, /^POOLD CRITICAL - catalog drift in 50 of 100 LVS services of eqiad .*\(lvs-tcp-only 45, path 4, query 1\); 1 acknowledged \| drift=50;;1;0 acknowledged=1;;;0\n/);
  t.match(n.output, /\nacknowledged: cxserver \[lvs-tcp-only\]: .*: checked per node by Kubernetes readiness probes \(eqiad\/cxserver_4002\)/);
  t.match(n.output, /\nunused acknowledgement: eqiad\/cxserver_4002 path/);
  // An acknowledgement of another dc does not apply.
  const codfw = parsePoolsText(poolsWithAcks({ cxserver: { port: 4002, kinds: ['lvs-tcp-only'] } }).replace('dc: eqiad', 'dc: codfw').replace('kubernetes1005.eqiad', 'kubernetes2005.codfw'), 'codfw.yaml');
  t.equal(catalogDrift(await realCatalog(), codfw.services).acknowledged.length, 0);
});

const SMALL = `service::catalog:
  base: &base
    description: text.%{::site}.example
    encryption: true
    ip:
      eqiad:
        default: 10.2.2.1
    lvs:
      class: low-traffic
      conftool: { cluster: kubernetes, service: kubesvc }
      depool_threshold: 0.5
      enabled: true
      monitors:
        IdleConnection: { max-delay: 300 }
    port: 4001
    probes:
      - type: http
        path: /healthz
    sites: [eqiad]
    state: production
  agreeing:
    <<: *base
    ip: { eqiad: { default: 10.2.2.2 } }
    port: 4002
    lvs:
      class: low-traffic
      conftool: { cluster: kubernetes, service: kubesvc }
      depool_threshold: 0.5
      enabled: true
      monitors:
        ProxyFetch:
          url: [ "https://%{::site}.example/healthz" ]
  tcp-probe:
    <<: *base
    ip: { eqiad: { default: 10.2.2.3 } }
    port: 4003
    lvs:
      class: low-traffic
      conftool: { cluster: kubernetes, service: kubesvc }
      depool_threshold: 0.5
      enabled: true
      monitors:
        ProxyFetch:
          url: [ "http://localhost/x" ]
    probes:
      - type: tcp
  setup:
    <<: *base
    state: service_setup
`;

t.test('merge keys and %{::site} are read as hiera reads them; probe-tcp-only; services in setup are skipped', async (t) => {
  const cat = parseWmfCatalogOrThrow(SMALL, 'small.yaml', 'eqiad');
  const agreeing = cat.services.find((s) => s.name === 'agreeing')!;
  t.same(agreeing.lvs?.proxyFetchUrls, [{ url: 'https://eqiad.example/healthz', at: { line: 32, col: 18 } }]);
  t.equal(agreeing.description, 'text.eqiad.example', 'merged from the anchor, %{::site} replaced');
  t.same(agreeing.probes.map((p) => [p.path, p.pathAt?.line]), [['/healthz', 18]], 'probes merged from the anchor keep its line');
  const r = catalogDrift(cat);
  t.equal(r.compared, 3);
  t.same(r.actionable.map((i) => [i.service, i.kind, i.lvs.at, i.monitoring.at]), [
    ['base', 'lvs-tcp-only', 'small.yaml:13', 'small.yaml:18'],
    ['tcp-probe', 'probe-tcp-only', 'small.yaml:44', 'small.yaml:46'],
  ]);
  t.equal(r.actionable[1].monitoring.says, 'tcp probe: TCP only');
});

t.test('a malformed catalog is a list of located problems', async (t) => {
  const bad = parseWmfCatalog('service::catalog:\n  x:\n    lvs:\n      conftool: { cluster: c }\n    probes:\n      - path: /a\n    description: "%{::fqdn}"\n', 'bad.yaml', 'eqiad');
  t.same(
    bad.problems.map((p) => `${p.line}:${p.col}: ${p.message}`),
    [
      '4:17: x: lvs.conftool needs cluster and service (the conftool pool of the real servers)',
      '6:9: x: a probe needs a type (http, tcp, tcp-notls, swagger)',
      '7:18: hiera interpolation %{::fqdn} is not supported here (only %{::site})',
    ],
  );
  t.throws(() => parseWmfCatalogOrThrow('service::catalog: [1]\n', 'bad.yaml', 'eqiad'), { name: 'ConfigError', message: /bad\.yaml:1:1: expected a map under service::catalog/ });
});

t.test('poolctl drift --catalog: exit 2 on actionable drift, 0 when all of it is acknowledged, 3 when it cannot compare', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poold-catalog-drift-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const real = await runPoolctl(['drift', '--catalog', file, '--dc', 'eqiad'], {}, { timeoutMs: 120_000 });
  t.equal(real.code, 2);
  t.match(real.stdout, /^POOLD CRITICAL - catalog drift in 51 of 100 LVS services of eqiad .*\(lvs-tcp-only 46, path 4, query 1\); 0 acknowledged \(no acknowledgements read: pass --pools DIR\)/);
  t.match(real.stdout, /\ncxserver \[lvs-tcp-only\]: LVS monitors IdleConnection: no HTTP request \(.*service\.yaml:\d+\); monitoring http probe \/_info \(.*service\.yaml:\d+\)\n/);
  t.match(real.stdout, /\nkartotherian-ssl \[path\]: LVS ProxyFetch https:\/\/localhost\/ \(.*service\.yaml:\d+\); monitoring http probe \/osm-intl\/6\/23\/24\.png/);

  const catalog = join(dir, 'service.yaml');
  await writeFile(catalog, SMALL);
  const pools = join(dir, 'pools');
  await mkdir(pools);
  await writeFile(join(pools, 'eqiad.yaml'), poolsWithAcks({ base: { port: 4001, kinds: ['lvs-tcp-only'] } }));
  const partly = await runPoolctl(['drift', '--catalog', catalog, '--dc', 'eqiad', '--pools', pools]);
  t.equal(partly.code, 2, partly.stdout);
  t.match(partly.stdout, /probe-tcp-only 1\); 1 acknowledged/);
  await writeFile(
    join(pools, 'eqiad.yaml'),
    poolsWithAcks({ base: { port: 4001, kinds: ['lvs-tcp-only'] }, 'tcp-probe': { port: 4003, kinds: ['probe-tcp-only'] } }),
  );
  const acked = await runPoolctl(['drift', '--catalog', catalog, '--dc', 'eqiad', '--pools', pools]);
  t.equal(acked.code, 0, acked.stdout);
  t.match(acked.stdout, /^POOLD OK - no catalog drift in 3 LVS services of eqiad .*; 2 acknowledged \| drift=0;;1;0 acknowledged=2;;;0\nacknowledged: base \[lvs-tcp-only\]/);
  const json = await runPoolctl(['drift', '--catalog', catalog, '--dc', 'eqiad', '--pools', pools, '--json']);
  t.equal(json.code, 0);
  t.match(JSON.parse(json.stdout), { dc: 'eqiad', compared: 3, actionable: [], acknowledged: [{ service: 'base' }, { service: 'tcp-probe' }] });

  const noDc = await runPoolctl(['drift', '--catalog', catalog]);
  t.equal(noDc.code, 3);
  t.match(noDc.stdout, /^POOLD UNKNOWN - poolctl drift: drift --catalog needs --dc/);
  await writeFile(join(dir, 'bad.yaml'), 'service::catalog:\n  x: [\n');
  const bad = await runPoolctl(['drift', '--catalog', join(dir, 'bad.yaml'), '--dc', 'eqiad']);
  t.equal(bad.code, 3);
  t.match(bad.stdout, /^POOLD UNKNOWN - poolctl drift: .*bad\.yaml:\d+:\d+:/);
});
