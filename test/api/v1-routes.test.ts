// JSON v1 shape, 400 on bad parameters, 405 on every write, /healthz.
import t from 'tap';
import { buildApi } from '../../src/api/server.js';
import { CX, cxState, cxView, serviceDef } from './fixtures.js';

t.test('GET /v1/pools: counts and threshold headroom per pool', async (t) => {
  const view = cxView({ now: () => 5_000 });
  view.setStale(CX, true, 1_000);
  view.setLeadership({ leader: true, leaderId: 'lvs1001' });
  const app = buildApi({ view, now: () => 5_000 });
  t.teardown(() => app.close());
  const r = await app.inject({ url: '/v1/pools' });
  t.equal(r.statusCode, 200);
  t.match(r.headers['content-type'], /^application\/json/);
  const body = JSON.parse(r.body);
  t.same(body.leadership, { leader: true, leaderId: 'lvs1001' });
  t.equal(body.pools.length, 1);
  const p = body.pools[0];
  t.match(p, { dc: 'eqiad', name: 'cxserver', cluster: 'sca', service: 'cxserver', pybalName: 'cxserver', pybalNameConflict: false, revision: 1 });
  // 4 members (sca1005 is inactive); up: 1001, 1002; enabled: 1001, 1003, 1004; pooled: 1001, 1003.
  t.same(p.counts, { total: 4, enabled: 3, up: 2, pooled: 2, pooledDown: 1, inactive: 1 });
  // 0.5 × 4 = 2 must stay up and enabled; only sca1001 is: one short.
  t.same(p.threshold, { depoolThreshold: 0.5, required: 2, upEnabled: 1, headroom: -1 });
  t.same([p.stale, p.staleSinceMs, p.staleForMs], [true, 1_000, 4_000]);

  const filtered = JSON.parse((await app.inject({ url: '/v1/pools?dc=codfw' })).body);
  t.same(filtered.pools, [], '?dc= filters');
});

t.test('GET /v1/pools/:dc/:name: per-host admin, health, effective state, verdicts, observers', async (t) => {
  const view = cxView();
  const host = { ...CX, host: 'sca1003.eqiad.wmnet' };
  view.setObservation(host, {
    observer: 'lvs1002',
    up: false,
    reason: 'info: status 404 (expected 200)',
    code: 'status',
    at: 1_700_000_000_500,
    flapping: false,
    checks: { info: { up: false, code: 'status', message: 'status 404 (expected 200)', timings: { totalMs: 7 }, findings: [] } },
  });
  view.setFlapping({ ...CX, host: 'sca1004.eqiad.wmnet' }, true);
  view.setDrift(CX, [{ where: 'icinga', message: 'check_http path / differs from /_info' }]);
  const app = buildApi({ view });
  t.teardown(() => app.close());
  const r = await app.inject({ url: '/v1/pools/eqiad/cxserver' });
  t.equal(r.statusCode, 200);
  const body = JSON.parse(r.body);
  t.same(body.lvs, { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' });
  t.same(
    body.checks.map((c: { name: string; kind: string }) => `${c.kind}:${c.name}`),
    ['tcp:tcp', 'http:info'],
  );
  t.same(body.flapping, ['sca1004.eqiad.wmnet']);
  t.same(body.drift, [{ where: 'icinga', message: 'check_http path / differs from /_info' }]);
  t.same(
    body.hosts.map((h: { host: string }) => h.host),
    ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet', 'sca1003.eqiad.wmnet', 'sca1004.eqiad.wmnet', 'sca1005.eqiad.wmnet'],
    'v1 lists every host, inactive included, by name',
  );
  const h3 = body.hosts[2];
  t.same(h3.admin, { pooled: 'yes', weight: 10 });
  t.same(h3.health, { up: false, status: 'partially up' });
  t.same(h3.effective, { enabled: true, up: false, pooled: true, weight: 10 });
  t.equal(h3.pybalStatus, 'enabled/partially up/pooled');
  t.equal(h3.reason, 'info: status 404 (expected 200)');
  t.equal(h3.keptByThreshold, true);
  t.same(h3.verdicts.info, {
    up: false,
    code: 'status',
    message: 'status 404 (expected 200)',
    timings: { connectMs: 1, firstByteMs: 4, totalMs: 5 },
    findings: [],
    at: 1_700_000_000_000,
  });
  t.equal(h3.verdicts.tcp.up, true);
  t.match(h3.observers.lvs1002, { observer: 'lvs1002', up: false, code: 'status', checks: { info: { timings: { totalMs: 7 } } } });
  t.equal(body.hosts[3].flapping, true);
  t.same(body.hosts[4].admin, { pooled: 'inactive', weight: 10 });
});

t.test('v1 errors: 404 JSON for unknown pools, 400 with where for bad params', async (t) => {
  const app = buildApi({ view: cxView() });
  t.teardown(() => app.close());
  const missing = await app.inject({ url: '/v1/pools/eqiad/nope' });
  t.equal(missing.statusCode, 404);
  t.same(JSON.parse(missing.body), {
    error: 'not_found',
    message: 'no LVS service eqiad/nope; GET /v1/pools lists them',
    where: 'eqiad/nope',
  });
  const cases: [string, string][] = [
    ['/v1/pools/eq%20iad/cxserver', 'params.dc'],
    ['/v1/pools/eqiad/-cxserver', 'params.name'],
    ['/v1/pools?dc=eq/iad', 'querystring.dc'],
    ['/v1/pools?color=blue', 'querystring.color'],
    ['/v1/pools/eqiad/cxserver?verbose=1', 'querystring.verbose'],
    ['/v1/events?types=state,bogus', 'querystring.types'],
    ['/v1/events?lastEventId=abc', 'querystring.lastEventId'],
  ];
  for (const [url, where] of cases) {
    const r = await app.inject({ url });
    t.equal(r.statusCode, 400, url);
    t.match(r.headers['content-type'], /^application\/json/, url);
    const body = JSON.parse(r.body);
    t.equal(body.error, 'bad_request', url);
    t.equal(body.where, where, url);
    t.match(body.message, new RegExp(`^${where.replace('.', '\\.')} `), `${url}: message starts with where`);
  }
  const badHeader = await app.inject({ url: '/v1/events', headers: { 'last-event-id': 'x1' } });
  t.equal(badHeader.statusCode, 400);
  t.equal(JSON.parse(badHeader.body).where, 'headers.last-event-id');
});

t.test('every write method on every path is 405 with a JSON error, and changes nothing', async (t) => {
  const view = cxView();
  const app = buildApi({ view });
  t.teardown(() => app.close());
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
    for (const url of ['/pools/cxserver/sca1001.eqiad.wmnet', '/v1/pools/eqiad/cxserver', '/alerts', '/', '/nowhere']) {
      const r = await app.inject({ method, url, payload: { pooled: 'no' } });
      t.equal(r.statusCode, 405, `${method} ${url}`);
      t.equal(r.headers.allow, 'GET, HEAD');
      const body = JSON.parse(r.body);
      t.equal(body.error, 'method_not_allowed');
      t.equal(body.where, `${method} ${url}`);
      t.match(body.message, /read-only.*poolctl/);
    }
  }
  // A body the API could not parse, or of a type it does not take, changes nothing: still 405.
  for (const [type, payload] of [['application/json', '{"pooled": no'], ['application/x-conftool', 'pooled=no']]) {
    const r = await app.inject({ method: 'POST', url: '/pools/cxserver/sca1001.eqiad.wmnet', headers: { 'content-type': type }, payload });
    t.equal(r.statusCode, 405, `POST with ${type} body ${payload}`);
    t.equal(JSON.parse(r.body).error, 'method_not_allowed');
  }
  t.equal(view.get(CX)?.state?.servers['sca1001.eqiad.wmnet'].pooled, true);
});

t.test('HEAD and /healthz', async (t) => {
  const app = buildApi({ view: cxView() });
  t.teardown(() => app.close());
  const health = await app.inject({ url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.equal(health.body, 'ok');
  const head = await app.inject({ method: 'HEAD', url: '/pools/cxserver' });
  t.equal(head.statusCode, 200);
  t.equal(head.body, '');
  t.equal(head.headers['content-length'], String(Buffer.byteLength(
    (await app.inject({ url: '/pools/cxserver' })).body,
  )));
});

t.test('a newer state replaces the view; an older revision is ignored', async (t) => {
  const view = cxView();
  const app = buildApi({ view });
  t.teardown(() => app.close());
  t.equal(view.setState(cxState(5, { 'sca1004.eqiad.wmnet': { up: true, pooled: true, reason: 'ok' } })), true);
  t.equal(view.setState(cxState(4)), false);
  t.equal((await app.inject({ url: '/pools/cxserver/sca1004.eqiad.wmnet' })).body, 'enabled/up/pooled\n');
  t.equal(JSON.parse((await app.inject({ url: '/v1/pools' })).body).pools[0].revision, 5);
});

t.test('applyDriftReport maps drift items onto pools and clears the others', async (t) => {
  const view = cxView();
  const other = { dc: 'eqiad', name: 'restbase' };
  view.setDrift(other, [{ where: 'icinga', message: 'old' }]);
  const unmatched = view.applyDriftReport({
    items: [
      { service: 'eqiad/cxserver', source: 'pybal', field: 'check path', expected: '/_info', actual: '/', where: 'lvs-configs/eqiad.conf:12' },
      { service: 'ghost', source: 'pybal', field: 'service', expected: 'absent', actual: 'present' },
    ],
  });
  t.same(unmatched.map((i) => i.service), ['ghost']);
  t.same(view.get(CX)?.drift, [{ where: 'lvs-configs/eqiad.conf:12', message: 'pybal check path: pools/ says /_info, deployed has /' }]);
  t.same(view.get(other)?.drift, []);
  const app = buildApi({ view });
  t.teardown(() => app.close());
  t.equal(
    (await app.inject({ url: '/alerts' })).body,
    'CRITICAL - cxserver: Servers sca1003.eqiad.wmnet are marked down but pooled; ' +
      'cxserver: configuration drift: lvs-configs/eqiad.conf:12: pybal check path: pools/ says /_info, deployed has /',
  );
});

t.test('GET /v1/pools/:dc/:name carries the LVS agent\'s per-service fields (bgp, drainMs, bgpMed)', async (t) => {
  // The agent fed by poold (--source poold) reads lvs from here: a field the response schema left
  // out would silently become the agent's default.
  const view = cxView();
  const hosts = Object.keys(cxState().servers);
  const def = serviceDef(CX, hosts);
  view.setService({ ...def, lvs: { ...def.lvs, bgp: false, drainMs: 30_000, bgpMed: 10 } });
  const app = buildApi({ view });
  t.teardown(() => app.close());
  const body = JSON.parse((await app.inject({ url: '/v1/pools/eqiad/cxserver' })).body);
  t.same(body.lvs, { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g', bgp: false, drainMs: 30_000, bgpMed: 10 });
});
