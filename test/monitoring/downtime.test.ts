import t from 'tap';
import { createServer } from 'node:http';
import { renderIcinga2 } from '../../src/monitoring/icinga2.js';
import { removeDowntime, scheduleDowntime } from '../../src/monitoring/downtime.js';
import { cxserver, parsoid } from './fixtures.js';
import { freePort, startIcingaApi } from './icinga-api.js';

const SVC = { dc: 'eqiad', name: 'cxserver' };

t.test('schedules and removes a downtime on a real Icinga 2 API', async (t) => {
  // The Icinga config is the one poold generates, so the filter is proven against real generated objects.
  const api = await startIcingaApi(renderIcinga2([cxserver(), parsoid()], { pooldUrl: 'http://127.0.0.1:9090' }));
  t.teardown(() => api.stop());
  const now = Date.now();
  const r = await scheduleDowntime(api.config, { host: 'sca1001.eqiad.wmnet', service: SVC, actor: 'alex', reason: 'service-runner migration T101272', durationMs: 30 * 60_000, now });
  t.equal(r.ok, true, r.warning ?? 'scheduled');
  t.equal(r.names.length, 1, 'exactly the one backend service of this pool');
  t.match(r.names[0], /^sca1001\.eqiad\.wmnet!poold eqiad\/cxserver!/);

  const listed = (await api.get('/v1/objects/downtimes')) as { status: number; body: { results: Array<{ attrs: Record<string, unknown> }> } };
  t.equal(listed.status, 200);
  t.equal(listed.body.results.length, 1);
  const attrs = listed.body.results[0].attrs;
  t.match(attrs, { host_name: 'sca1001.eqiad.wmnet', service_name: 'poold eqiad/cxserver', author: 'alex', comment: 'service-runner migration T101272', fixed: true });
  t.equal(attrs.end_time as number, Math.floor(now / 1000) + 1800);

  const none = await scheduleDowntime(api.config, { host: 'wtp1001.eqiad.wmnet', service: SVC, actor: 'alex', reason: 'x', durationMs: 60_000, now });
  t.equal(none.ok, false, 'wtp1001 is not a cxserver backend');
  t.match(none.warning, /no service for wtp1001\.eqiad\.wmnet with vars\.poold_service = "eqiad\/cxserver"/);

  const removed = await removeDowntime(api.config, { host: 'sca1001.eqiad.wmnet', service: SVC });
  t.equal(removed.ok, true, removed.warning ?? 'removed');
  t.match(removed.names[0], /Successfully removed downtime/);
  const after = (await api.get('/v1/objects/downtimes')) as { body: { results: unknown[] } };
  t.same(after.body.results, []);
});

t.test('unreachable or refusing Icinga gives a warning result and never throws', async (t) => {
  const port = await freePort();
  const down = await scheduleDowntime({ url: `https://127.0.0.1:${port}`, user: 'u', password: 'p', timeoutMs: 1000 }, { host: 'h', service: SVC, actor: 'a', reason: 'r', durationMs: 1000, now: 0 });
  t.equal(down.ok, false);
  t.match(down.warning, /^Icinga API https:\/\/127\.0\.0\.1:\d+ unreachable, downtime for h in eqiad\/cxserver skipped: ECONNREFUSED/);

  // A server that answers 401 like Icinga with bad credentials; records what poold sent.
  const seen: Array<{ url?: string; auth?: string; body: string }> = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ url: req.url, auth: req.headers.authorization, body });
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":401,"status":"Unauthorized. Please check your user credentials."}');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  const refused = await removeDowntime({ url, user: 'poold', password: 'wrong' }, { host: 'sca1001.eqiad.wmnet', service: SVC });
  t.equal(refused.ok, false);
  t.match(refused.warning, /^Icinga API refused removing downtime for sca1001\.eqiad\.wmnet in eqiad\/cxserver: HTTP 401/);
  t.equal(seen[0].url, '/v1/actions/remove-downtime');
  t.equal(seen[0].auth, `Basic ${Buffer.from('poold:wrong').toString('base64')}`);
  t.same(JSON.parse(seen[0].body), {
    type: 'Downtime',
    filter: 'host.name == poold_host && service.vars.poold_service == poold_service',
    filter_vars: { poold_host: 'sca1001.eqiad.wmnet', poold_service: 'eqiad/cxserver' },
  });
});

t.test('API settings: flags over environment, none means not configured, incomplete is a usage error', async (t) => {
  const { loadIcingaApiConfig } = await import('../../src/monitoring/downtime-config.js');
  t.equal(await loadIcingaApiConfig({}, {}), null);
  t.same(await loadIcingaApiConfig({ user: 'flag-user' }, { POOLD_ICINGA_API_URL: 'https://icinga:5665', POOLD_ICINGA_API_USER: 'env', POOLD_ICINGA_API_PASSWORD: 'pw' }), {
    url: 'https://icinga:5665',
    user: 'flag-user',
    password: 'pw',
    ca: undefined,
    serverName: undefined,
    timeoutMs: undefined,
  });
  await t.rejects(loadIcingaApiConfig({ url: 'https://icinga:5665' }, {}), { name: 'UsageError', message: /needs a user and password/ });
  await t.rejects(loadIcingaApiConfig({ url: 'https://icinga:5665', user: 'u', password: 'p', caFile: '/nonexistent/ca.pem' }, {}), { name: 'UsageError', message: /cannot read the Icinga API CA \/nonexistent\/ca\.pem/ });
});
