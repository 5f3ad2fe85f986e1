// Import of a real site: Wikimedia's eqiad and codfw pybal.conf, rendered from the public catalog as
// puppet renders them (test/helpers/wmf-catalog.ts), with conftool-data's node files for the pools.
import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPybalFile, importSucceeded, type PybalImportResult } from '../../src/config/pybal-import.js';
import { parsePybalConf, type PybalServiceConf } from '../../src/config/pybal-parse.js';
import { renderPybal } from '../../src/config/pybal-render.js';
import { loadPoolsFromTexts } from '../../src/config/pools/index.js';
import type { ServiceDef } from '../../src/model/types.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { renderRealPybalConf, wmfFiles } from '../helpers/wmf-catalog.js';

const files = wmfFiles();

interface Site {
  conf: string;
  confText: string;
  result: PybalImportResult;
}

async function importSite(t: Test, dc: string, catalog = false, config: 'etcd' | 'http' = 'etcd'): Promise<Site> {
  const dir = await mkdtemp(join(tmpdir(), `poold-wmf-${dc}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const conf = join(dir, `${dc}.conf`);
  const confText = renderRealPybalConf(dc, { config });
  await writeFile(conf, confText);
  const result = await importPybalFile(conf, { dc, nodesFile: files.nodes(dc), catalogFile: catalog ? files.catalog : undefined });
  return { conf, confText, result };
}

function load(r: PybalImportResult, dc: string) {
  return loadPoolsFromTexts([{ file: `${dc}.yaml`, text: r.yaml }]);
}

/** The option a `[section] option:` warning names must be written on the line it points at. */
function located(site: Site, message: string, line: number): boolean {
  const m = /^\[[^\]]+\](?: (\S+))?:/.exec(message);
  if (!m) return false;
  const text = site.confText.split('\n')[line - 1] ?? '';
  return m[1] === undefined ? /^\[/.test(text) : text.toLowerCase().startsWith(`${m[1].toLowerCase()} =`);
}

for (const [dc, sections] of [['eqiad', 116], ['codfw', 100]] as const) {
  t.test(`${dc}: every section imported with its pool and servers; the YAML loads with no problem`, async (t) => {
    const site = await importSite(t, dc);
    const r = site.result;
    t.same(r.problems, []);
    t.same(r.warnings.filter((w) => w.essential), [], 'nothing essential lost');
    t.ok(importSucceeded(r));
    const loaded = load(r, dc);
    t.same(loaded.problems, []);
    t.equal(loaded.services.length, sections);
    const conf = parsePybalConf(site.confText, site.conf);
    const byName = new Map(loaded.services.map((s) => [s.name, s]));
    // Every section round-trips its name and names exactly the pool of its etcd URL, with servers.
    for (const p of conf.services) {
      const s = byName.get(p.name);
      if (!s) {
        t.fail(`${p.name} not imported`);
        continue;
      }
      const url = /\/pools\/[^/]+\/([^/]+)\/([^/]+)\/$/.exec(p.config)!;
      if (s.pool.cluster !== url[1] || s.pool.service !== url[2]) t.fail(`${p.name}: pool ${s.pool.cluster}/${s.pool.service}, config says ${url[1]}/${url[2]}`);
      if (Object.keys(s.servers).length === 0) t.fail(`${p.name}: no servers`);
      if (s.lvs.method !== (p.tunneling ? 'i' : 'g')) t.fail(`${p.name}: tunneling = ${p.tunneling} but method ${s.lvs.method}`);
    }
    t.equal(loaded.services.filter((s) => s.pool.cluster === 'kubernetes' && s.pool.service === 'kubesvc').length, 44);

    // Every warning is true: located on the option it names, and none invented for what was carried.
    const bad = r.warnings.filter((w) => w.file === site.conf && !w.message.startsWith('[global]') && !located(site, w.message, w.line));
    t.same(bad, [], 'each warning points at the option it is about');
    t.same(r.warnings.filter((w) => /\] ops:/.test(w.message) || (/\bops\b/.test(w.message) && /BGP/i.test(w.message))), [], 'ops = false is not a loss, and not BGP');
    t.same(r.warnings.filter((w) => /tunneling/i.test(w.message)), [], 'tunneling is carried (method i)');
    const maxDelay = conf.services.filter((s) => s.section.options.has('idleconnection.max-delay')).length;
    t.equal(r.warnings.filter((w) => /\] idleconnection\.max-delay:/.test(w.message)).length, maxDelay);
    t.ok(r.warnings.filter((w) => w.message.startsWith('[global]')).every((w) => w.line < conf.services[0].line), '[global] warnings are in [global]');
  });
}

t.test('eqiad round trip: render-pybal of the imported services gives back each section\'s VIP, port, scheduler, tunneling, threshold and monitors', async (t) => {
  const site = await importSite(t, 'eqiad');
  const loaded = load(site.result, 'eqiad');
  const original = new Map(parsePybalConf(site.confText, site.conf).services.map((s) => [s.name, s]));
  const again = parsePybalConf(renderPybal(loaded.services, 'http://poold.svc.eqiad.wmnet:9090').text, 'rendered.conf');
  t.equal(again.services.length, original.size);
  // What PyBal fetches: an empty path is `/` (logs-api's https://logs-api.svc.eqiad.wmnet) and the URL's port
  // is the connection's only when it is the service port (labweb-ssl's :7443, warned about on import);
  // check_all with one URL is the same check as without (jobrunner).
  const fetched = (s: PybalServiceConf, u: string) => {
    const url = new URL(u);
    if (Number(url.port) === s.port) url.port = '';
    return url.href;
  };
  const view = (s: PybalServiceConf) => ({
    ip: s.ip,
    port: s.port,
    protocol: s.protocol,
    scheduler: s.scheduler,
    tunneling: s.tunneling,
    depoolThreshold: s.depoolThreshold,
    monitors: [...s.monitors].sort(),
    urls: s.proxyfetch?.urls.map((u) => fetched(s, u)),
    status: s.proxyfetch?.httpStatus,
    timeout: s.proxyfetch?.timeoutS,
    checkAll: s.proxyfetch ? s.proxyfetch.checkAll && s.proxyfetch.urls.length > 1 : undefined,
    reconnect: s.idleconnection?.timeoutCleanReconnectS,
  });
  let differing = 0;
  for (const s of again.services) {
    const o = original.get(s.name);
    if (!o) t.fail(`${s.name} was not in the original`);
    else if (JSON.stringify(view(s)) !== JSON.stringify(view(o))) {
      differing++;
      t.same(view(s), view(o), s.name);
    }
  }
  t.equal(differing, 0);
  t.match(site.result.warnings.find((w) => w.message.startsWith('[labweb-ssl_7443] proxyfetch.url:'))?.message, /poold's Host header is toolsadmin\.wikimedia\.org without :7443/);
});

t.test('import --catalog takes the checks from the monitoring probes (cxserver: /_info, kartotherian-ssl: the tile)', async (t) => {
  const site = await importSite(t, 'eqiad', true);
  const r = site.result;
  t.ok(importSucceeded(r));
  const loaded = load(r, 'eqiad');
  t.same(loaded.problems, []);
  const by = (name: string): ServiceDef => loaded.services.find((s) => s.name === name)!;
  t.match(by('cxserver_4002').checks, [{ kind: 'http', urls: ['/_info'], host: 'cxserver.discovery.wmnet', scheme: 'https', expect: { status: [{ from: 200, to: 299 }] } }, { kind: 'idle-connection' }]);
  t.match(by('kartotherian-ssl_443').checks[0], { kind: 'http', urls: ['/osm-intl/6/23/24.png'] });
  // Catalog names: multi-VIP sections name their catalog service.
  t.equal(by('textlb_443').catalog, 'text-https');
  t.equal(by('textlb_80').catalog, 'text');
  t.equal(by('cxserver_4002').catalog, 'cxserver');
  // What changed is said, with where the probe is written.
  const cx = r.warnings.find((w) => w.message.startsWith('[cxserver_4002] monitors:'));
  t.match(cx?.message, /checks follow monitoring's probe \(.*service\.yaml:\d+\).*GET \/_info with Host cxserver\.discovery\.wmnet.*in place of PyBal's monitors, which made no HTTP request \(IdleConnection kept\)/);
  // zotero's probe POSTs JSON: PyBal's monitors stay, and the warning says why.
  t.match(r.warnings.find((w) => w.message.startsWith('[zotero_4969] monitors:'))?.message, /POSTs JSON.*PyBal's monitors kept/);
  t.same(by('zotero_4969').checks.map((c) => c.kind), ['idle-connection']);
});

t.test('config-master lists (config = http://…/pybal/<dc>/<service>) resolve to their conftool pool through the catalog', async (t) => {
  const site = await importSite(t, 'eqiad', true, 'http');
  t.ok(importSucceeded(site.result), site.result.warnings.filter((w) => w.essential).slice(0, 3).map((w) => w.message).join('\n'));
  const loaded = load(site.result, 'eqiad');
  t.same(loaded.problems, []);
  t.equal(loaded.services.length, 116);
  t.equal(loaded.services.filter((s) => s.pool.cluster === 'kubernetes' && s.pool.service === 'kubesvc').length, 44);
  const text = loaded.services.find((s) => s.name === 'textlb_443')!;
  t.match(text, { catalog: 'text-https', pool: { cluster: 'cache_text', service: 'cdn' } });
  t.match(site.result.yaml, /# NOTE: config-master renders http:\/\/config-master\.eqiad\.wmnet\/pybal\/eqiad\/text-https from conftool pool eqiad\/cache_text\/cdn/);
  // Without the catalog, the lists are not fetched: the servers are unknown and the import says so.
  const dir = await mkdtemp(join(tmpdir(), 'poold-wmf-http-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'eqiad.conf'), site.confText);
  const bare = await importPybalFile(join(dir, 'eqiad.conf'), { dc: 'eqiad', nodesFile: files.nodes('eqiad') });
  t.notOk(importSucceeded(bare));
  t.equal(bare.warnings.filter((w) => w.essential).length, 116);
});

t.test('poolctl import pybal on eqiad: exit 0, YAML written, warnings on stderr', async (t) => {
  const site = await importSite(t, 'eqiad');
  const out = `${site.conf}.yaml`;
  const r = await runPoolctl(['import', 'pybal', site.conf, '--dc', 'eqiad', '--conftool-nodes', files.nodes('eqiad'), '--out', out], {}, { timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr.split('\n').slice(-3).join('\n'));
  t.match(r.stderr, /warning: .*eqiad\.conf:\d+:\d+: \[apertium_4737\] idleconnection\.max-delay:/);
  t.match(r.stderr, / 0 about essential settings; 0 problem\(s\)/);
  const yaml = await readFile(out, 'utf8');
  t.equal(load({ yaml, warnings: [], problems: [] }, 'eqiad').services.length, 116);

  // Without the node file the etcd pools have no hosts: something essential is lost, exit 1.
  const bare = await runPoolctl(['import', 'pybal', site.conf, '--dc', 'eqiad', '--out', out], {}, { timeoutMs: 120_000 });
  t.equal(bare.code, 1);
  t.match(bare.stderr, /error: .*eqiad\.conf:\d+:\d+: \[apertium_4737\] config: the hosts of conftool pool eqiad\/kubernetes\/kubesvc are not in pybal.conf: pass conftool-data's node file/);
});
