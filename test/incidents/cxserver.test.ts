// Incident replay: cxserver (2015). After a migration `/` answered 404 while `/_info` was fine; the
// deployed pybal.conf still checked `/`, Icinga checked `/_info`, and the two disagreed for hours.
// Then the operator depooled the last good host (sca1002) and nothing said the pool was serving
// from a broken host. poold: one definition of healthy (pools/ says /_info), drift reported with
// both sides, and /alerts tells the true serving state within a bound.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startScenario, waitAllServing, waitFor } from '../helpers/scenario.js';

const PORT = 18151;
const A1 = '127.51.0.1';
const A2 = '127.51.0.2';
const VIP = '10.2.2.18';
/** The conftool pool (dc/cluster/service) whose hosts the operator depools. */
const PATH = 'eqiad/sca/cxserver';
/** The LVS service (PyBal section) over that pool: pools/ service `cxserver` on PORT. */
const NAME = `cxserver_${PORT}`;
const SECTION = `eqiad/${NAME}`;
const H1 = 'sca1001.eqiad.wmnet';
const H2 = 'sca1002.eqiad.wmnet';
/** How long after `poolctl depool` returns /alerts must tell the truth: publication + agent, no check round needed. */
const ALERT_BOUND_MS = 2000;

const POOLS = `dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: ${VIP}, port: ${PORT} }
    depool_threshold: 0.5
    checks:
      - kind: http
        path: /_info
        host: cxserver.svc.eqiad.wmnet
        expect: { status: [200], body: { non_empty: true, contains: cxserver } }
        timeout: 1s
        interval: 300ms
        rise: 1
        fall: 2
    servers:
      ${H1}: { weight: 10, address: ${A1} }
      ${H2}: { weight: 10, address: ${A2} }
`;

// The pybal.conf that was deployed during the incident: ProxyFetch still on `/`.
const INCIDENT_PYBAL = `[${NAME}]
protocol = tcp
ip = ${VIP}
port = ${PORT}
scheduler = wrr
config = http://poold.svc.eqiad.wmnet:9090/pybal/${SECTION}
depool-threshold = .5
monitors = [ "ProxyFetch" ]
proxyfetch.url = [ 'http://cxserver.svc.eqiad.wmnet/' ]
`;

// Both backends are the migrated service: 404 on `/`, 200 with the service JSON on `/_info`.
const s = await startScenario(t, {
  pools: POOLS,
  backends: [A1, A2].map((address) => ({ address, port: PORT, behaviour: '404-root' as const, service: 'cxserver' })),
});

t.test('both migrated hosts serve: pools/ checks /_info, which they pass', async () => {
  await waitAllServing(s, SECTION, 2, VIP, PORT);
});

t.test('the incident pybal.conf (ProxyFetch on /) is reported as drift, both sides shown', async (t) => {
  const raw = await fetch(`http://${A1}:${PORT}/`);
  t.equal(raw.status, 404, 'the backend really answers 404 on /');
  const info = await fetch(`http://${A1}:${PORT}/_info`);
  t.equal(info.status, 200, '...and 200 on /_info');

  const pybal = join(s.dir, 'pybal.conf');
  writeFileSync(pybal, INCIDENT_PYBAL);
  const r = await s.poolctl(['drift', '--pybal', pybal, '--poold-url', 'http://poold.svc.eqiad.wmnet:9090']);
  t.equal(r.code, 2, 'exit 2: CRITICAL, so Icinga itself pages on the disagreement');
  t.match(r.stdout, /^POOLD CRITICAL - drift in 1 service/);
  t.match(r.stdout, `${SECTION}: pybal check path: pools/ says /_info, deployed has /`, 'expected and actual side by side');
  t.match(r.stdout, `${pybal}:9`, 'and where in the deployed file');

  // The fix poold offers: render pybal.conf and Icinga config from the same definition: no drift.
  const fixed = join(s.dir, 'pybal.fixed.conf');
  const icinga = join(s.dir, 'poold.conf');
  t.equal((await s.poolctl(['lvs', 'render-pybal', '--out', fixed, '--poold-url', 'http://poold.svc.eqiad.wmnet:9090'])).code, 0);
  t.equal((await s.poolctl(['monitoring', 'render', '--out', icinga, '--poold-url', 'http://poold.svc.eqiad.wmnet:9090'])).code, 0);
  const ok = await s.poolctl(['drift', '--pybal', fixed, '--icinga', icinga, '--poold-url', 'http://poold.svc.eqiad.wmnet:9090']);
  t.equal(ok.code, 0, `generated configs agree with pools/: ${ok.stdout}${ok.stderr}`);
  t.match(ok.stdout, /^POOLD OK - no drift/);
});

t.test('sca1001 breaks, then the operator depools the last good host with --force: /alerts tells the truth', async (t) => {
  // sca1001's new code fails the one definition of healthy (it is "effectively unpooled" in the story).
  await s.sim.setBehaviour(A1, PORT, 'empty-200');
  await waitFor('sca1001 depooled by poold', () => s.state(SECTION), (st) => st?.servers[H1].pooled === false && st.servers[H1].up === false);
  await waitFor('agent removed sca1001', async () => s.table(VIP, PORT), (tb) => !(A1 in tb) && A2 in tb);
  t.ok(await s.ipvsLine(`-d -t ${VIP}:${PORT} -r ${A1}`), 'ipvsadm -d for sca1001');

  // Without --force the guard refuses: sca1002 is the only host serving.
  const refused = await s.poolctl(['depool', H2, '--reason', 'run puppet']);
  t.equal(refused.code, 3, `refused by the threshold guard: ${refused.stderr}`);
  t.match(refused.stderr, /threshold|serving/i);
  t.same(JSON.parse((await s.kv.get(`/conftool/v1/pools/${PATH}/${H2}`))!.value), { weight: 10, pooled: 'yes' }, 'refusal wrote nothing');

  const forced = await s.poolctl(['depool', H2, '--force', '--reason', 'run puppet']);
  t.equal(forced.code, 0, forced.stderr);
  const start = Date.now();
  const alert = await waitFor('/alerts CRITICAL naming sca1001', () => s.alerts(), (a) => a.startsWith('CRITICAL'), ALERT_BOUND_MS + 3000, 25);
  const took = Date.now() - start;
  t.ok(took <= ALERT_BOUND_MS, `alert within ${ALERT_BOUND_MS} ms of the depool (took ${took} ms)`);
  t.equal(alert, `CRITICAL - ${NAME}: Servers ${H1} are marked down but pooled`, 'PyBal\'s words: serving from a broken host');

  // The true serving state everywhere: sca1002 out (admin), sca1001 kept by the threshold.
  const st = await waitFor('state: sca1001 kept pooled', () => s.state(SECTION), (x) => x?.servers[H2].pooled === false && x.servers[H1].pooled === true);
  t.same(st!.pooledDown, [H1], 'kept by the threshold, and recorded as such');
  await waitFor('agent table: only sca1001', async () => s.table(VIP, PORT), (tb) => JSON.stringify(Object.keys(tb)) === JSON.stringify([A1]));
  const json = await (await fetch(`${s.daemon.url}/alerts`, { headers: { accept: 'application/json' } })).json();
  t.same(json, { status: 'critical', msg: `${NAME}: Servers ${H1} are marked down but pooled` });

  // Fixing sca1001 clears the alert (no stale entries).
  await s.sim.setBehaviour(A1, PORT, '404-root', { service: 'cxserver' });
  await waitFor('/alerts OK again', () => s.alerts(), (a) => a === 'OK - All pools are healthy', 5000);
});
