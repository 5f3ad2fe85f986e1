// Key layout: build/parse round trips, configurable roots, and refusal of keys that would not parse back.
import t from 'tap';
import { UsageError } from '../../src/model/errors.js';
import { Keys } from '../../src/store/keys.js';

t.test('default layout', async (t) => {
  const k = new Keys();
  const host = { dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: 'sca1001.eqiad.wmnet' };
  t.equal(k.host(host), '/conftool/v1/pools/eqiad/sca/cxserver/sca1001.eqiad.wmnet');
  t.same(k.parseHost(k.host(host)), host);
  t.equal(k.servicePoolPrefix(host), '/conftool/v1/pools/eqiad/sca/cxserver/');
  t.equal(k.service(host), '/poold/v1/services/eqiad/sca/cxserver');
  t.same(k.parseService(k.service(host)), { dc: 'eqiad', cluster: 'sca', service: 'cxserver' });
  const hk = { ...host, observer: 'lvs1001' };
  t.equal(k.health(hk), '/poold/v1/health/eqiad/sca/cxserver/sca1001.eqiad.wmnet/lvs1001');
  t.same(k.parseHealth(k.health(hk)), hk);
  t.equal(k.healthPrefix(host), '/poold/v1/health/eqiad/sca/cxserver/sca1001.eqiad.wmnet/');
  t.equal(k.healthPrefix({ dc: 'eqiad', cluster: 'sca', service: 'cxserver' }), '/poold/v1/health/eqiad/sca/cxserver/');
  t.equal(k.state(host), '/poold/v1/state/eqiad/sca/cxserver');
  t.same(k.parseState(k.state(host)), { dc: 'eqiad', cluster: 'sca', service: 'cxserver' });
  t.equal(k.audit('2026-01-01T00:00:00.000Z-ab-0000'), '/poold/v1/audit/2026-01-01T00:00:00.000Z-ab-0000');
  t.equal(k.parseAudit('/poold/v1/audit/x'), 'x');
  t.equal(k.election(), '/poold/v1/election/leader');
});

t.test('parse rejects keys of other shapes', async (t) => {
  const k = new Keys();
  t.equal(k.parseHost('/conftool/v1/pools/eqiad/sca/cxserver'), undefined, 'too short');
  t.equal(k.parseHost('/conftool/v1/pools/eqiad/sca/cxserver/h/extra'), undefined, 'too long');
  t.equal(k.parseHost('/conftool/v1/pools/eqiad//cxserver/h'), undefined, 'empty segment');
  t.equal(k.parseHost('/other/v1/pools/eqiad/sca/cxserver/h'), undefined, 'other root');
  t.equal(k.parseService('/poold/v1/state/eqiad/sca/cxserver'), undefined, 'state is not a service');
});

t.test('configurable roots; invalid roots and segments are refused', async (t) => {
  const k = new Keys({ conftool: '/test/conftool', poold: '/test/poold' });
  t.equal(k.host({ dc: 'a', cluster: 'b', service: 'c', host: 'd' }), '/test/conftool/pools/a/b/c/d');
  t.equal(k.auditPrefix(), '/test/poold/audit/');
  t.throws(() => new Keys({ conftool: 'conftool/v1' }), UsageError);
  t.throws(() => new Keys({ poold: '/poold/v1/' }), UsageError);
  t.throws(() => k.host({ dc: 'a', cluster: 'b/c', service: 'c', host: 'd' }), /invalid cluster "b\/c"/);
  t.throws(() => k.host({ dc: '', cluster: 'b', service: 'c', host: 'd' }), /invalid dc ""/);
});
