import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderPybal } from '../../src/config/pybal-render.js';
import { renderIcinga2 } from '../../src/monitoring/icinga2.js';
import { renderNagios } from '../../src/monitoring/nagios.js';
import { detectDrift, driftToNagios, formatDrift } from '../../src/monitoring/drift.js';
import { detectDriftFromFiles } from '../../src/monitoring/drift-files.js';
import { cxserver, httpCheck, parsoid } from './fixtures.js';

const POOLD = 'http://poold.svc.eqiad.wmnet:9090';

// The pybal.conf as it was during the cxserver incident: ProxyFetch still on `/`.
function incidentPybal(serverList: string): string {
  return `[cxserver]
protocol = tcp
ip = 10.2.2.18
port = 8080
scheduler = wrr
config = file://${serverList}
depool-threshold = .5
monitors = [ "ProxyFetch" ]
proxyfetch.url = [ 'http://cxserver.svc.eqiad.wmnet/' ]
`;
}

// What Icinga checked meanwhile: check_http on /_info, and it said OK.
const ICINGA_CHECK_HTTP = `
object Service "cxserver" {
  host_name = "sca1001.eqiad.wmnet"
  check_command = "http"
  vars.http_vhost = "cxserver.svc.eqiad.wmnet"
  vars.http_uri = "/_info"
  vars.http_port = 8080
  vars.http_timeout = 5
}
`;

t.test('cxserver incident replay: ProxyFetch on / while pools/ says /_info is CRITICAL drift', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poold-drift-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const list = join(dir, 'cxserver');
  await writeFile(list, "{ 'host': 'sca1001.eqiad.wmnet', 'weight': 10, 'enabled': True }\n{ 'host': 'sca1002.eqiad.wmnet', 'weight': 10, 'enabled': False }\n");
  await writeFile(join(dir, 'pybal.conf'), incidentPybal(list));
  await writeFile(join(dir, 'icinga.conf'), ICINGA_CHECK_HTTP);

  const report = await detectDriftFromFiles({ services: [cxserver()], pybalFile: join(dir, 'pybal.conf'), icingaFile: join(dir, 'icinga.conf') });
  t.same(report.items, [
    {
      service: 'eqiad/cxserver',
      source: 'pybal',
      field: 'check path',
      expected: '/_info',
      actual: '/',
      where: `${join(dir, 'pybal.conf')}:9`,
    },
  ]);
  t.same(report.warnings, []);
  const out = driftToNagios(report);
  t.equal(out.exit, 2, 'CRITICAL');
  t.equal(
    out.output.split('\n')[0],
    `POOLD CRITICAL - drift in 1 service (eqiad/cxserver): eqiad/cxserver: pybal check path: pools/ says /_info, deployed has / (${join(dir, 'pybal.conf')}:9) | drift=1;;1;0`,
  );

  // The fix: regenerate both from pools/. No drift, exit 0.
  await writeFile(join(dir, 'pybal.conf'), renderPybal([cxserver()], POOLD).text.replace(`${POOLD}/pybal/eqiad/cxserver`, `file://${list}`));
  await writeFile(join(dir, 'icinga.conf'), renderIcinga2([cxserver()], { pooldUrl: POOLD }));
  const fixed = await detectDriftFromFiles({ services: [cxserver()], pybalFile: join(dir, 'pybal.conf'), icingaFile: join(dir, 'icinga.conf') });
  t.same(fixed.items, []);
  t.same(driftToNagios(fixed), { exit: 0, output: 'POOLD OK - no drift: pybal.conf and Icinga agree with pools/ for 1 services | drift=0;;1;0' });
});

t.test('every field that drifted is reported with both sides', async (t) => {
  const deployed = renderPybal([cxserver()], POOLD).text;
  const services = [
    cxserver({
      depoolThreshold: 0.7,
      checks: [httpCheck({ urls: ['/_info'], host: 'cx.svc.eqiad.wmnet', timeoutMs: 2000, expect: { status: [{ from: 204, to: 204 }] } })],
      servers: { 'sca1001.eqiad.wmnet': { weight: 10 }, 'sca1003.eqiad.wmnet': { weight: 10 } },
    }),
    parsoid(),
  ];
  const report = detectDrift({
    services,
    pybal: { text: deployed, file: 'lvs.conf', serverLists: { [`${POOLD}/pybal/eqiad/cxserver`]: { 'sca1001.eqiad.wmnet': { weight: 10, enabled: true, line: 1 }, 'sca1002.eqiad.wmnet': { weight: 10, enabled: true, line: 2 } } } },
  });
  t.same(formatDrift(report).split('\n'), [
    'eqiad/cxserver: pybal depool threshold: pools/ says 0.7, deployed has 0.5 (lvs.conf:12)',
    'eqiad/cxserver: pybal Host header: pools/ says cx.svc.eqiad.wmnet, deployed has cxserver.svc.eqiad.wmnet (lvs.conf:14)',
    'eqiad/cxserver: pybal timeout: pools/ says 2s, deployed has 5s (lvs.conf:15)',
    'eqiad/cxserver: pybal expected status: pools/ says 204, deployed has 200 (lvs.conf:16)',
    `eqiad/cxserver: pybal missing backends: pools/ says sca1003.eqiad.wmnet, deployed has not in the server list ${POOLD}/pybal/eqiad/cxserver (lvs.conf:11)`,
    'eqiad/cxserver: pybal extra backends: pools/ says not in pools/, deployed has sca1002.eqiad.wmnet (lvs.conf:11)',
    'eqiad/parsoid: pybal service: pools/ says section [parsoid] for 10.2.2.28:8000, deployed has missing from lvs.conf',
  ]);
  t.equal(driftToNagios(report).exit, 2);
});

t.test('an extra section and an http server list that cannot be fetched offline', async (t) => {
  const deployed = renderPybal([cxserver(), parsoid()], POOLD).text;
  const report = detectDrift({ services: [cxserver()], pybal: { text: deployed, file: 'lvs.conf' } });
  t.same(report.items.map((i) => [i.service, i.field, i.expected, i.actual]), [['parsoid', 'service', 'not in pools/', 'section [parsoid] for 10.2.2.28:8000']]);
  t.same(report.warnings, [], "poold's own server list needs no comparison");
  const legacy = deployed.replace(`${POOLD}/pybal/eqiad/cxserver`, 'http://config-master.wikimedia.org/pybal/eqiad/cx');
  const r2 = detectDrift({ services: [cxserver()], pybal: { text: legacy, file: 'lvs.conf' } });
  t.same(r2.warnings, ['eqiad/cxserver: server list http://config-master.wikimedia.org/pybal/eqiad/cx is an http URL, not fetched offline; backends not compared']);
});

t.test('stale generated Icinga config (icinga2 and nagios formats) drifts; fresh does not', async (t) => {
  const old = [cxserver({ checks: [httpCheck({ urls: ['/'] })], servers: { 'sca1001.eqiad.wmnet': { weight: 10 } } })];
  const now = [cxserver()];
  for (const [format, render] of [['icinga2', renderIcinga2], ['nagios', renderNagios]] as const) {
    const stale = detectDrift({ services: now, icinga: { text: render(old, { pooldUrl: POOLD }), file: `icinga.${format}` } });
    t.same(
      stale.items.map((i) => `${i.field}: ${i.expected} | ${i.actual}`),
      ['check path: /_info | / (on sca1001.eqiad.wmnet)', 'missing backends: sca1002.eqiad.wmnet | not in icinga.' + format],
      format,
    );
    t.equal(driftToNagios(stale).exit, 2);
    const fresh = detectDrift({ services: now, icinga: { text: render(now, { pooldUrl: POOLD }), file: 'x' } });
    t.same(fresh.items, [], `${format}: regenerated config agrees`);
  }
  const missing = detectDrift({ services: [cxserver(), parsoid()], icinga: { text: renderIcinga2(now, { pooldUrl: POOLD }), file: 'i.conf' } });
  t.same(missing.items.map((i) => [i.service, i.field, i.actual]), [['eqiad/parsoid', 'service', 'missing from i.conf']]);
});

t.test('several datacenters need --dc', async (t) => {
  t.throws(() => detectDrift({ services: [cxserver(), cxserver({ dc: 'codfw' })] }), { name: 'UsageError', message: /spans datacenters codfw, eqiad/ });
});

t.test('forwarding and per-service BGP drift: pools/ says IPIP and bgp: false, the deployed pybal.conf does not', async (t) => {
  const base = cxserver();
  const svc = cxserver({ lvs: { ...base.lvs, method: 'i', bgp: false } });
  const fresh = renderPybal([svc], POOLD).text;
  t.same(detectDrift({ services: [svc], pybal: { text: fresh, file: 'lvs.conf' } }).items, [], 'a fresh render has no drift');
  const stale = renderPybal([base], POOLD).text;
  const items = detectDrift({ services: [svc], pybal: { text: stale, file: 'lvs.conf' } }).items;
  t.same(items.map((i) => [i.field, i.expected, i.actual]), [['tunneling', 'yes', 'no'], ['bgp', 'no', 'yes']]);
});

t.test('per-service MED drift: pools/ says bgp_med 10, the deployed pybal.conf has none (or another)', async (t) => {
  const base = cxserver();
  const svc = cxserver({ lvs: { ...base.lvs, bgpMed: 10 } });
  t.same(detectDrift({ services: [svc], pybal: { text: renderPybal([svc], POOLD).text, file: 'lvs.conf' } }).items, [], 'a fresh render has no drift');
  const none = detectDrift({ services: [svc], pybal: { text: renderPybal([base], POOLD).text, file: 'lvs.conf' } }).items;
  t.same(none.map((i) => [i.field, i.expected, i.actual]), [['bgp-med', '10', 'global']]);
  const other = detectDrift({ services: [base], pybal: { text: renderPybal([cxserver({ lvs: { ...base.lvs, bgpMed: 20 } })], POOLD).text, file: 'lvs.conf' } }).items;
  t.same(other.map((i) => [i.field, i.expected, i.actual, i.where]), [['bgp-med', 'global', '20', 'lvs.conf:13']], 'located at the bgp-med line');
});
