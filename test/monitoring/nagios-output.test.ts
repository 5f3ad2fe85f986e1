import t from 'tap';
import type { CheckResult } from '../../src/model/types.js';
import { checkRunToNagios, checkRunsToNagios, type HostCheckRun } from '../../src/monitoring/nagios-output.js';
import { alertsToNagios } from '../../src/monitoring/alerts-plugin.js';

function result(over: Partial<CheckResult> = {}): CheckResult {
  return { up: true, code: 'ok', message: 'status 200', timings: { totalMs: 12 }, findings: [], ...over };
}

function run(results: HostCheckRun['results'], up = results.every((r) => r.result.up)): HostCheckRun {
  return { host: 'sca1001.eqiad.wmnet', address: '127.0.0.11', up, results };
}

t.test('OK, WARNING (unclosed finding), CRITICAL (down), UNKNOWN (nothing ran)', async (t) => {
  t.same(checkRunToNagios(run([{ check: 'http', result: result() }])), {
    exit: 0,
    output: 'POOLD OK - sca1001.eqiad.wmnet http: status 200 | time=0.012s;;;0',
  });
  const unclosed = result({ findings: [{ code: 'unclosed', severity: 'warning', message: 'server did not close after Connection: close' }] });
  t.same(checkRunToNagios(run([{ check: 'http', result: unclosed }])), {
    exit: 1,
    output: 'POOLD WARNING - sca1001.eqiad.wmnet http: status 200; warning: server did not close after Connection: close | time=0.012s;;;0',
  });
  const down = result({ up: false, code: 'status', message: 'status 404 (expected 200)', timings: { totalMs: 1234 } });
  const out = checkRunToNagios(run([{ check: 'idle', result: result({ message: 'connected', timings: { totalMs: 1 } }) }, { check: 'http', result: down }]));
  t.equal(out.exit, 2);
  t.equal(
    out.output,
    [
      'POOLD CRITICAL - sca1001.eqiad.wmnet http: status 404 (expected 200) | time=1.234s;;;0 idle_time=0.001s;;;0 http_time=1.234s;;;0',
      'idle: OK - connected',
      'http: CRITICAL - status 404 (expected 200)',
    ].join('\n'),
  );
  t.same(checkRunToNagios(run([])), { exit: 3, output: 'POOLD UNKNOWN - sca1001.eqiad.wmnet: no checks ran' });
});

t.test('plugin text never breaks the perfdata or first line', async (t) => {
  const out = checkRunToNagios(run([{ check: 'cmd', result: result({ up: false, code: 'command_failed', message: 'CRITICAL - queue | depth=9\nsecond line' }) }]));
  t.equal(out.output, 'POOLD CRITICAL - sca1001.eqiad.wmnet cmd: CRITICAL - queue / depth=9 second line | time=0.012s;;;0');
});

t.test('the daemon verdict wins: down overall is CRITICAL even if no single check says so', async (t) => {
  t.equal(checkRunToNagios(run([{ check: 'http', result: result() }], false)).exit, 2);
});

t.test('a whole pool: worst state, one long-output line per backend', async (t) => {
  const ok = run([{ check: 'http', result: result() }]);
  const bad: HostCheckRun = { ...run([{ check: 'http', result: result({ up: false, code: 'refused', message: 'connection refused' }) }]), host: 'sca1002.eqiad.wmnet' };
  const out = checkRunsToNagios([ok, bad], 'cxserver');
  t.equal(out.exit, 2);
  t.equal(
    out.output,
    [
      'POOLD CRITICAL - cxserver: 1 of 2 backends not OK: sca1002.eqiad.wmnet http: connection refused | sca1001.eqiad.wmnet_time=0.012s;;;0 sca1002.eqiad.wmnet_time=0.012s;;;0',
      'sca1001.eqiad.wmnet: OK - http: status 200',
      'sca1002.eqiad.wmnet: CRITICAL - http: connection refused',
    ].join('\n'),
  );
});

t.test('alertsToNagios reads /alerts like check_pybal', async (t) => {
  t.same(alertsToNagios('OK - All pools are healthy'), { exit: 0, output: 'POOLD OK - All pools are healthy' });
  t.same(alertsToNagios('WARNING - Pool cxserver is too small to allow depooling. '), { exit: 1, output: 'POOLD WARNING - Pool cxserver is too small to allow depooling.' });
  const crit = 'CRITICAL - cxserver: Servers sca1001.eqiad.wmnet are marked down but pooled; parsoid: Servers wtp1001.eqiad.wmnet, wtp1002.eqiad.wmnet are marked down but pooled';
  t.same(alertsToNagios(crit), { exit: 2, output: `POOLD ${crit}` });
  t.same(alertsToNagios(crit, { pool: 'parsoid' }), { exit: 2, output: 'POOLD CRITICAL - parsoid: Servers wtp1001.eqiad.wmnet, wtp1002.eqiad.wmnet are marked down but pooled' });
  t.same(alertsToNagios(crit, { pool: 'restbase' }), { exit: 0, output: 'POOLD OK - Pool restbase is healthy' });
  t.same(alertsToNagios('{"status": "critical", "msg": "cxserver: Servers a are marked down but pooled"}', { pool: 'cxserver' }), {
    exit: 2,
    output: 'POOLD CRITICAL - cxserver: Servers a are marked down but pooled',
  });
  t.same(alertsToNagios('', { httpStatus: 503 }), { exit: 2, output: 'POOLD CRITICAL - bad response from poold /alerts: HTTP 503' });
  t.equal(alertsToNagios('<html>gateway</html>').exit, 3);
  t.equal(alertsToNagios('{"status":"fine"}').exit, 3);
});

t.test('fetchAlertsNagios: real HTTP, pool filter, unreachable poold is CRITICAL', async (t) => {
  const { createServer } = await import('node:http');
  const { fetchAlertsNagios } = await import('../../src/monitoring/alerts-plugin.js');
  let body = 'CRITICAL - cxserver: Servers sca1001.eqiad.wmnet are marked down but pooled';
  const srv = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(req.url === '/pools' ? 'cxserver\nparsoid\n' : body));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/alerts`;
  t.same(await fetchAlertsNagios(url, { pool: 'cxserver' }), { exit: 2, output: `POOLD ${body}` });
  t.same(await fetchAlertsNagios(url, { pool: 'parsoid' }), { exit: 0, output: 'POOLD OK - Pool parsoid is healthy' });
  // A misspelt pool must not read OK forever.
  t.same(await fetchAlertsNagios(url, { pool: 'parsiod' }), { exit: 3, output: `POOLD UNKNOWN - no pool parsiod at ${url}; pools: cxserver, parsoid` });
  body = 'OK - All pools are healthy';
  t.same(await fetchAlertsNagios(url, { pool: '' }), { exit: 0, output: 'POOLD OK - All pools are healthy' });
  srv.closeAllConnections();
  await new Promise<void>((r) => srv.close(() => r()));
  const { freePort } = await import('./icinga-api.js');
  const down = await fetchAlertsNagios(`http://127.0.0.1:${await freePort()}/alerts`);
  t.equal(down.exit, 2);
  t.match(down.output, /^POOLD CRITICAL - cannot fetch http:\/\/127\.0\.0\.1:\d+\/alerts: ECONNREFUSED$/);
});
