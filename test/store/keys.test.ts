// Key layout: build/parse round trips, configurable roots, and refusal of keys that would not parse back.
import t from 'tap';
import { UsageError } from '../../src/model/errors.js';
import { Keys } from '../../src/store/keys.js';

t.test('default layout', async (t) => {
  const k = new Keys();
  const host = { dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: 'sca1001.eqiad.wmnet' };
  t.equal(k.host(host), '/conftool/v1/pools/eqiad/sca/cxserver/sca1001.eqiad.wmnet');
  t.same(k.parseHost(k.host(host)), host);
  t.equal(k.poolPrefix(host), '/conftool/v1/pools/eqiad/sca/cxserver/');
  const svc = { dc: 'eqiad', name: 'cxserver_8080' };
  t.equal(k.service(svc), '/poold/v1/services/eqiad/cxserver_8080');
  t.same(k.parseService(k.service(svc)), svc);
  t.equal(k.parseService('/poold/v1/services/eqiad/sca/cxserver'), undefined, 'the layout before LVS services named their pool is not read');
  const target = { ...svc, host: 'sca1001.eqiad.wmnet' };
  const hk = { ...target, observer: 'lvs1001' };
  t.equal(k.health(hk), '/poold/v1/health/eqiad/cxserver_8080/sca1001.eqiad.wmnet/lvs1001');
  t.same(k.parseHealth(k.health(hk)), hk);
  t.equal(k.healthPrefix(target), '/poold/v1/health/eqiad/cxserver_8080/sca1001.eqiad.wmnet/');
  t.equal(k.healthPrefix(svc), '/poold/v1/health/eqiad/cxserver_8080/');
  t.equal(k.state(svc), '/poold/v1/state/eqiad/cxserver_8080');
  t.same(k.parseState(k.state(svc)), svc);
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
  t.equal(k.parseService('/poold/v1/state/eqiad/cxserver_8080'), undefined, 'state is not a service');
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
