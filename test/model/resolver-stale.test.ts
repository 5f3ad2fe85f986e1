// The /alerts text for names served from their last-known address, folded with PyBal's causes.
import t from 'tap';
import { computeAlerts, alertsText } from '../../src/model/alerts.js';
import { isResolverStaleFinding, resolverStaleCause, resolverStaleFinding } from '../../src/model/resolver-stale.js';

t.test('one WARNING naming the hosts, sorted and deduplicated; CRITICAL still wins', async (t) => {
  t.equal(resolverStaleCause([]), null);
  const one = resolverStaleCause(['b.wmnet']);
  t.equal(alertsText(computeAlerts([], [one!])), 'WARNING - resolver: 1 name served from last-known address: b.wmnet. ');
  const two = resolverStaleCause(['b.wmnet', 'a.wmnet', 'b.wmnet']);
  t.equal(alertsText(computeAlerts([], [two!])), 'WARNING - resolver: 2 names served from last-known address: a.wmnet, b.wmnet. ');
  const crit = { pool: 'x', severity: 'critical' as const, message: 'Servers h are flapping' };
  t.equal(alertsText(computeAlerts([], [two!, crit])), 'CRITICAL - x: Servers h are flapping');
});

t.test('the finding is recognised, and only it', async (t) => {
  const f = resolverStaleFinding('a.wmnet', '10.0.0.1');
  t.same(f, { code: 'dns_failure', severity: 'warning', message: 'resolver failing for a.wmnet: checked at its last-known address 10.0.0.1' });
  t.ok(isResolverStaleFinding(f));
  t.notOk(isResolverStaleFinding({ ...f, severity: 'critical' }));
  t.notOk(isResolverStaleFinding({ code: 'unclosed', severity: 'warning', message: 'connection left open' }));
});
