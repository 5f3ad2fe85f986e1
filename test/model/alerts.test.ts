// /alerts byte for byte as PyBal (pybal/test/test_instrumentation.py AlertsTestCase), plus poold's causes.
import t from 'tap';
import {
  alertsJson,
  alertsText,
  computeAlerts,
  flappingCause,
  poolAlertOf,
  staleStateCause,
  type AlertCause,
} from '../../src/model/alerts.js';
import type { EffectiveServer, PoolState, Pooled } from '../../src/model/types.js';

function server(over: Partial<EffectiveServer> = {}): EffectiveServer {
  const pooledAdmin: Pooled = over.pooledAdmin ?? 'yes';
  return { pooledAdmin, enabled: pooledAdmin === 'yes', up: true, pooled: true, weight: 10, reason: 'ok', flapping: false, findings: [], ...over };
}

function pool(service: string, hosts: string[], threshold: number, pooledDown: string[] = [], over: Record<string, Partial<EffectiveServer>> = {}): PoolState {
  return {
    dc: 'eqiad',
    name: service,
    pool: { cluster: 'sca', service },
    revision: 1,
    updatedAt: 0,
    depoolThreshold: threshold,
    servers: Object.fromEntries(hosts.map((h) => [h, server({ ...(pooledDown.includes(h) ? { up: false } : {}), ...over[h] })])),
    pooledDown,
  };
}

const M = ['mw1001', 'mw1002', 'mw1003'];

t.test("PyBal's own cases", async (t) => {
  t.equal(alertsText(computeAlerts([pool('test_pool0', M, 0)])), 'OK - All pools are healthy');
  t.equal(alertsText(computeAlerts([pool('test_pool0', M, 1)])), 'WARNING - Pool test_pool0 is too small to allow depooling. ');
  t.equal(alertsText(computeAlerts([pool('test_pool0', ['mw1001'], 1)])), 'OK - All pools are healthy', 'one server: never too small');
  t.equal(
    alertsText(computeAlerts([pool('test_pool0', M, 1, ['mw1001', 'mw1002'])])),
    'CRITICAL - test_pool0: Servers mw1001, mw1002 are marked down but pooled',
  );
  t.equal(alertsText(computeAlerts([])), 'OK - All pools are healthy');
});

t.test('the too-small boundary is total < total × threshold + 1', async (t) => {
  // 3 servers: too small once depooling one breaks the threshold, i.e. threshold > 2/3.
  t.equal(computeAlerts([pool('p', M, 0.66)]).status, 'ok');
  t.equal(computeAlerts([pool('p', M, 0.67)]).status, 'warning');
  // 2 servers at .5: 2 < 2 fails, OK; at .51: warning.
  t.equal(computeAlerts([pool('p', M.slice(0, 2), 0.5)]).status, 'ok');
  t.equal(computeAlerts([pool('p', M.slice(0, 2), 0.51)]).status, 'warning');
  // Inactive servers are not pool members (PyBal never sees them).
  t.equal(computeAlerts([pool('p', M, 0.5, [], { mw1003: { pooledAdmin: 'inactive', pooled: false } })]).status, 'ok');
  t.equal(computeAlerts([pool('p', M, 0.6, [], { mw1003: { pooledAdmin: 'inactive', pooled: false } })]).status, 'warning');
});

t.test('several pools: sorted, criticals joined by "; ", warnings concatenated, critical hides warnings', async (t) => {
  const r = computeAlerts([pool('zeta', M, 0.5, ['mw1003', 'mw1001']), pool('alpha', M, 1), pool('beta', M, 0.5, ['mw1002'])]);
  t.same(r, {
    status: 'critical',
    msg: 'beta: Servers mw1002 are marked down but pooled; zeta: Servers mw1001, mw1003 are marked down but pooled',
  });
  const w = computeAlerts([pool('b', M, 1), pool('a', M, 1), pool('c', M, 0)]);
  t.equal(alertsText(w), 'WARNING - Pool a is too small to allow depooling. Pool b is too small to allow depooling. ');
});

t.test('JSON form, with Python json.dumps separators', async (t) => {
  t.equal(alertsJson(computeAlerts([pool('p', M, 0)])), '{"status": "ok", "msg": "All pools are healthy"}');
  t.equal(alertsJson(computeAlerts([pool('p', M, 1)])), '{"status": "warning", "msg": "Pool p is too small to allow depooling. "}');
  t.equal(
    alertsJson(computeAlerts([pool('p', M, 1, ['mw1002'])])),
    '{"status": "critical", "msg": "p: Servers mw1002 are marked down but pooled"}',
  );
});

t.test('extra causes fold in the same shape: CRITICAL > WARNING > OK', async (t) => {
  const stale = staleStateCause('cxserver', 42_900);
  t.same(stale, { pool: 'cxserver', severity: 'warning', message: 'state stale for 42s' });
  t.equal(alertsText(computeAlerts([pool('cxserver', M, 0)], [stale])), 'WARNING - Pool cxserver state stale for 42s. ');
  // Warnings of a pool: PyBal's first, then the extra ones.
  t.equal(
    alertsText(computeAlerts([pool('cxserver', M, 1)], [stale])),
    'WARNING - Pool cxserver is too small to allow depooling. Pool cxserver state stale for 42s. ',
  );
  const flapping = pool('eventlogging', M, 0.5, [], { mw1002: { flapping: true }, mw1001: { flapping: true } });
  const flap = flappingCause(flapping);
  t.same(flap, { pool: 'eventlogging', severity: 'critical', message: 'Servers mw1001, mw1002 are flapping' });
  const drift: AlertCause = { pool: 'cxserver', severity: 'critical', message: 'configuration drift: check path / differs from /_info' };
  const global: AlertCause = { severity: 'warning', message: 'etcd unreachable for 5s' };
  t.equal(
    alertsText(computeAlerts([pool('cxserver', M, 0.5, ['mw1003']), flapping], [flap!, drift, global, stale])),
    'CRITICAL - cxserver: Servers mw1003 are marked down but pooled; cxserver: configuration drift: check path / differs from /_info; eventlogging: Servers mw1001, mw1002 are flapping',
  );
  t.equal(alertsText(computeAlerts([], [global])), 'WARNING - etcd unreachable for 5s. ');
  t.equal(alertsText(computeAlerts([], [{ severity: 'critical', message: 'no leader' }])), 'CRITICAL - no leader');
  // A cause for a pool without state still shows.
  t.equal(alertsText(computeAlerts([], [drift])), 'CRITICAL - cxserver: configuration drift: check path / differs from /_info');
  t.equal(flappingCause(pool('p', M, 0.5, [], { mw1001: { flapping: true, pooledAdmin: 'inactive', pooled: false } })), null, 'inactive hosts do not alert');
});

t.test('the pool name can be overridden (PyBal section <service>_<port>)', async (t) => {
  t.equal(
    alertsText(computeAlerts([pool('cxserver', M, 1)], [], (s) => `${s.name}_8080`)),
    'WARNING - Pool cxserver_8080 is too small to allow depooling. ',
  );
  t.same(poolAlertOf({ name: 'x', total: 0, threshold: 1, pooledDown: [] }), { status: 'ok', message: '' });
});
