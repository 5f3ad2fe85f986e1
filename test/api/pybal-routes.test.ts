// Byte-exact PyBal instrumentation answers. Expected bodies were produced by CPython 2.7.18 running
// PyBal's serialisation (json.dumps of the same dicts, filled in the same order), so they pin the
// dict order and separators, not just the content.
import t from 'tap';
import { buildApi } from '../../src/api/server.js';
import { PoolView } from '../../src/api/state-view.js';
import { CX, cxState, cxView, healthyState, result, serviceDef } from './fixtures.js';

const POOL_TEXT =
  'sca1002.eqiad.wmnet:\tdisabled/up/not pooled\n' +
  'sca1003.eqiad.wmnet:\tenabled/partially up/pooled\n' +
  'sca1001.eqiad.wmnet:\tenabled/up/pooled\n' +
  'sca1004.eqiad.wmnet:\tenabled/down/not pooled\n';

const POOL_JSON =
  '{"sca1002.eqiad.wmnet": {"pooled": false, "enabled": false, "up": true, "weight": 10}, ' +
  '"sca1003.eqiad.wmnet": {"pooled": true, "enabled": true, "up": false, "weight": 10}, ' +
  '"sca1001.eqiad.wmnet": {"pooled": true, "enabled": true, "up": true, "weight": 10}, ' +
  '"sca1004.eqiad.wmnet": {"pooled": false, "enabled": true, "up": false, "weight": 10}}';

const JSON_ACCEPT = { accept: 'application/json' };

t.test('GET /pools lists pool names one per line, in PyBal order', async (t) => {
  const view = cxView();
  for (const service of ['apaches', 'restbase']) {
    const key = { dc: 'eqiad', name: service };
    view.setState(healthyState(key, ['mw1001.eqiad.wmnet']));
  }
  // A pool with a definition but no published state is not yet a PyBal pool.
  view.setService(serviceDef({ dc: 'eqiad', name: 'pending' }, ['x1']));
  const app = buildApi({ view });
  t.teardown(() => app.close());
  const text = await app.inject({ url: '/pools' });
  t.equal(text.statusCode, 200);
  t.equal(text.headers['content-type'], 'text/plain');
  t.equal(text.body, 'cxserver\nrestbase\napaches\n');
  const json = await app.inject({ url: '/pools', headers: JSON_ACCEPT });
  t.equal(json.headers['content-type'], 'application/json');
  t.equal(json.body, '["cxserver", "restbase", "apaches"]');
  const slash = await app.inject({ url: '/pools/' });
  t.equal(slash.body, 'cxserver\nrestbase\napaches\n', 'a trailing slash names the same resource, as in Twisted');
});

t.test('GET /pools with no pools is a lone newline, as PyBal', async (t) => {
  const app = buildApi({ view: new PoolView() });
  t.teardown(() => app.close());
  t.equal((await app.inject({ url: '/pools' })).body, '\n');
  t.equal((await app.inject({ url: '/pools', headers: JSON_ACCEPT })).body, '[]');
});

t.test('GET /pools/<pool>: every status word, PyBal order, inactive hosts left out', async (t) => {
  const app = buildApi({ view: cxView() });
  t.teardown(() => app.close());
  const text = await app.inject({ url: '/pools/cxserver' });
  t.equal(text.statusCode, 200);
  t.equal(text.headers['content-type'], 'text/plain');
  t.equal(text.body, POOL_TEXT);
  const json = await app.inject({ url: '/pools/cxserver', headers: JSON_ACCEPT });
  t.equal(json.statusCode, 200);
  t.equal(json.headers['content-type'], 'application/json');
  t.equal(json.body, POOL_JSON);
  t.equal((await app.inject({ url: '/pools/cxserver/' })).body, POOL_TEXT);
});

t.test('GET /pools/<pool>/<host>: the status string and a newline, or PyBal JSON', async (t) => {
  const app = buildApi({ view: cxView() });
  t.teardown(() => app.close());
  const cases: [string, string, string][] = [
    ['sca1001.eqiad.wmnet', 'enabled/up/pooled\n', '{"pooled": true, "enabled": true, "up": true, "weight": 10}'],
    ['sca1002.eqiad.wmnet', 'disabled/up/not pooled\n', '{"pooled": false, "enabled": false, "up": true, "weight": 10}'],
    ['sca1003.eqiad.wmnet', 'enabled/partially up/pooled\n', '{"pooled": true, "enabled": true, "up": false, "weight": 10}'],
    ['sca1004.eqiad.wmnet', 'enabled/down/not pooled\n', '{"pooled": false, "enabled": true, "up": false, "weight": 10}'],
  ];
  for (const [host, text, json] of cases) {
    const r = await app.inject({ url: `/pools/cxserver/${host}` });
    t.equal(r.statusCode, 200, host);
    t.equal(r.body, text, host);
    t.equal((await app.inject({ url: `/pools/cxserver/${host}`, headers: JSON_ACCEPT })).body, json, host);
  }
  // PoolServer is a Twisted leaf: anything below the host is the host.
  t.equal((await app.inject({ url: '/pools/cxserver/sca1001.eqiad.wmnet/extra/bits' })).body, 'enabled/up/pooled\n');
});

t.test('partially up follows the checks: all checks down is down, one up is partially up', async (t) => {
  const view = cxView();
  const app = buildApi({ view });
  t.teardown(() => app.close());
  const host = { ...CX, host: 'sca1003.eqiad.wmnet' };
  view.setVerdict(host, 'tcp', result(false), 1);
  t.equal((await app.inject({ url: '/pools/cxserver/sca1003.eqiad.wmnet' })).body, 'enabled/down/pooled\n');
  view.setVerdict(host, 'info', result(true), 2);
  t.equal((await app.inject({ url: '/pools/cxserver/sca1003.eqiad.wmnet' })).body, 'enabled/partially up/pooled\n');
  // Without local verdicts, another observer's per-check view decides.
  view.clearVerdicts(host);
  t.equal((await app.inject({ url: '/pools/cxserver/sca1003.eqiad.wmnet' })).body, 'enabled/down/pooled\n');
  view.setObservation(host, {
    observer: 'lvs1002',
    up: false,
    reason: 'info down',
    code: 'status',
    at: 3,
    flapping: false,
    checks: {
      tcp: { up: true, code: 'ok', message: 'ok', timings: { totalMs: 1 }, findings: [] },
      info: { up: false, code: 'status', message: 'status 500 (expected 200)', timings: { totalMs: 2 }, findings: [] },
    },
  });
  t.equal((await app.inject({ url: '/pools/cxserver/sca1003.eqiad.wmnet' })).body, 'enabled/partially up/pooled\n');
});

t.test('Accept: JSON only when one Accept header is exactly application/json, as PyBal compares it', async (t) => {
  const app = buildApi({ view: cxView() });
  t.teardown(() => app.close());
  const asText = ['text/html, application/json;q=0.9', 'application/json;q=0.9', 'text/plain', '*/*', 'Application/JSON'];
  for (const accept of asText) {
    const r = await app.inject({ url: '/pools/cxserver', headers: { accept } });
    t.equal(r.body, POOL_TEXT, `Accept: ${accept} gets text`);
    t.equal(r.headers['content-type'], 'text/plain');
  }
  t.equal((await app.inject({ url: '/pools/cxserver' })).body, POOL_TEXT, 'no Accept gets text');
  t.equal((await app.inject({ url: '/pools/cxserver', headers: { accept: '  application/json ' } })).body, POOL_JSON, 'surrounding spaces are not part of the value');
  // Two Accept header lines: PyBal sees both raw values, and one of them is application/json.
  const twoHeaders = await app.inject({ url: '/pools/cxserver', headers: { accept: ['text/html', 'application/json'] } });
  t.equal(twoHeaders.body, POOL_JSON);
});

t.test('unknown paths, pools and hosts: 404 with PyBal text or JSON', async (t) => {
  const app = buildApi({ view: cxView() });
  t.teardown(() => app.close());
  for (const url of ['/test', '/pools/nope', '/pools/cxserver/sca2001.codfw.wmnet', '/pools/cxserver/sca1005.eqiad.wmnet', '/', '/v2/pools', '/pools/cxserver/constructor', '/pools/__proto__']) {
    const r = await app.inject({ url });
    t.equal(r.statusCode, 404, url);
    t.equal(r.body, 'The desired url was not found', url);
    t.equal(r.headers['content-type'], 'text/plain', url);
    const j = await app.inject({ url, headers: JSON_ACCEPT });
    t.equal(j.statusCode, 404, url);
    t.equal(j.body, '{"error": "The desired url was not found"}', url);
    t.equal(j.headers['content-type'], 'application/json', url);
  }
});

t.test('GET /alerts: OK, WARNING, CRITICAL and stale, always 200', async (t) => {
  let now = 1_700_000_100_000;
  const view = new PoolView();
  const app = buildApi({ view, now: () => now });
  t.teardown(() => app.close());
  const get = async (json = false) => {
    const r = await app.inject({ url: '/alerts', headers: json ? JSON_ACCEPT : {} });
    t.equal(r.statusCode, 200);
    return r.body;
  };
  t.equal(await get(), 'OK - All pools are healthy', 'no pools');

  const hosts = ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet', 'sca1003.eqiad.wmnet', 'sca1004.eqiad.wmnet'];
  view.setState(healthyState(CX, hosts, 0.5));
  t.equal(await get(), 'OK - All pools are healthy');
  t.equal(await get(true), '{"status": "ok", "msg": "All pools are healthy"}');

  // threshold 0.8 of 4: depooling one leaves 3 < 3.2, so the pool is too small.
  view.setState(healthyState(CX, hosts, 0.8, 2));
  t.equal(await get(), 'WARNING - Pool cxserver is too small to allow depooling. ');
  t.equal(await get(true), '{"status": "warning", "msg": "Pool cxserver is too small to allow depooling. "}');

  const restbase = { dc: 'eqiad', name: 'restbase' };
  const rb = healthyState(restbase, ['restbase1001.eqiad.wmnet', 'restbase1002.eqiad.wmnet', 'restbase1003.eqiad.wmnet'], 0.5);
  rb.servers['restbase1002.eqiad.wmnet'].up = false;
  rb.servers['restbase1001.eqiad.wmnet'].up = false;
  rb.pooledDown = ['restbase1001.eqiad.wmnet', 'restbase1002.eqiad.wmnet'];
  view.setState(rb);
  view.setState(cxState(3));
  t.equal(
    await get(),
    'CRITICAL - cxserver: Servers sca1003.eqiad.wmnet are marked down but pooled; restbase: Servers restbase1001.eqiad.wmnet, restbase1002.eqiad.wmnet are marked down but pooled',
    'critical pools joined by "; ", warnings dropped',
  );

  // Recover; then the watch is lost for 42.9 s.
  view.setState(healthyState(CX, hosts, 0.5, 4));
  view.setState({ ...healthyState(restbase, ['restbase1001.eqiad.wmnet', 'restbase1002.eqiad.wmnet'], 0.5), revision: 5 });
  view.setStale(CX, true, now - 42_900);
  t.equal(await get(), 'WARNING - Pool cxserver state stale for 42s. ');
  t.equal(await get(true), '{"status": "warning", "msg": "Pool cxserver state stale for 42s. "}');
  now += 10_000;
  t.equal(await get(), 'WARNING - Pool cxserver state stale for 52s. ', 'the age grows with the clock');
  view.setStale(CX, false, now);
  t.equal(await get(), 'OK - All pools are healthy', 'no stale entry survives recovery');

  view.setFlapping({ ...CX, host: 'sca1002.eqiad.wmnet' }, true);
  t.equal(await get(), 'CRITICAL - cxserver: Servers sca1002.eqiad.wmnet are flapping');
  view.setFlapping({ ...CX, host: 'sca1002.eqiad.wmnet' }, false);
  view.setDrift(CX, [{ where: 'lvs-configs/eqiad.conf [cxserver]', message: 'ProxyFetch url http://localhost/ differs from /_info' }]);
  t.equal(
    await get(),
    'CRITICAL - cxserver: configuration drift: lvs-configs/eqiad.conf [cxserver]: ProxyFetch url http://localhost/ differs from /_info',
  );
  view.setDrift(CX, []);
  t.equal(await get(), 'OK - All pools are healthy');
  t.equal((await app.inject({ url: '/alerts/anything' })).body, 'OK - All pools are healthy', '/alerts is a Twisted leaf');
});

t.test('GET /pybal/:dc/:name: PyBal server list with effective pooled state, by section or catalog name', async (t) => {
  const view = cxView();
  view.setService({ ...serviceDef({ dc: 'eqiad', name: 'pending_80' }, ['x1']), catalog: 'pending' });
  const app = buildApi({ view });
  t.teardown(() => app.close());
  const r = await app.inject({ url: '/pybal/eqiad/cxserver' });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['content-type'], 'text/plain');
  t.equal(
    r.body,
    "{ 'host': 'sca1001.eqiad.wmnet', 'weight': 10, 'enabled': True }\n" +
      "{ 'host': 'sca1002.eqiad.wmnet', 'weight': 10, 'enabled': False }\n" +
      "{ 'host': 'sca1003.eqiad.wmnet', 'weight': 10, 'enabled': True }\n" +
      "{ 'host': 'sca1004.eqiad.wmnet', 'weight': 10, 'enabled': False }\n",
  );
  t.equal((await app.inject({ url: '/pybal/eqiad/nope' })).statusCode, 404);
  t.equal((await app.inject({ url: '/pybal/codfw/cxserver' })).statusCode, 404, 'another dc');
  const pending = await app.inject({ url: '/pybal/eqiad/pending' });
  t.equal(pending.statusCode, 503, 'no list rather than an empty one before the first state (found by catalog name)');
  t.match(pending.body, /No state published yet for eqiad\/pending_80/);
  const bad = await app.inject({ url: '/pybal/eqiad/cx%20server' });
  t.equal(bad.statusCode, 400);
  t.same(JSON.parse(bad.body).where, 'params.name');
});

t.test('a dc-scoped view serves its own dc for a service name two dcs share', async (t) => {
  const codfw = { dc: 'codfw', name: 'cxserver' };
  const view = new PoolView({ dcs: ['codfw'] });
  t.equal(view.setState(cxState()), false, 'eqiad state is out of scope');
  t.equal(view.setState(healthyState(codfw, ['sca2001.codfw.wmnet'])), true);
  const app = buildApi({ view });
  t.teardown(() => app.close());
  t.equal((await app.inject({ url: '/pools/cxserver' })).body, 'sca2001.codfw.wmnet:\tenabled/up/pooled\n');
  const wrongDc = await app.inject({ url: '/v1/pools/eqiad/cxserver' });
  t.equal(wrongDc.statusCode, 404);
  t.match(JSON.parse(wrongDc.body).message, /dc eqiad is not served by this instance/);
});

t.test('two dcs in scope sharing a section name: first by dc wins and v1 flags it', async (t) => {
  const view = new PoolView();
  view.setState(healthyState({ dc: 'eqiad', name: 'cxserver' }, ['b1']));
  view.setState(healthyState({ dc: 'codfw', name: 'cxserver' }, ['a1']));
  const app = buildApi({ view });
  t.teardown(() => app.close());
  t.equal((await app.inject({ url: '/pools' })).body, 'cxserver\n', 'listed once');
  t.equal((await app.inject({ url: '/pools/cxserver' })).body, 'a1:\tenabled/up/pooled\n');
  const v1 = JSON.parse((await app.inject({ url: '/v1/pools' })).body);
  t.same(
    v1.pools.map((p: { dc: string; pybalNameConflict: boolean }) => [p.dc, p.pybalNameConflict]),
    [
      ['codfw', true],
      ['eqiad', true],
    ],
  );
});
