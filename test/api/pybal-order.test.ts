// PyBal's /pools/<pool> orders, text and JSON, and the Twisted path walk under /pools (issue 13).
//
// Oracle: the observation of PyBal 1.15.9 (CPython 2.7) driven by poold for a pool of
// restbase1007..1010.eqiad.wmnet: JSON lists restbase1010, 1009, 1008, 1007, while poold gave
// 1007, 1009, 1008, 1010 (which is PyBal's *text* order). python2 is not on this machine, so the
// expected orders below are either that observation or derived by hand from the hashes (shown).
import t from 'tap';
import { buildApi } from '../../src/api/server.js';
import { PoolView } from '../../src/api/state-view.js';
import { resolvePoolsPath } from '../../src/api/pybal-format.js';
import { py2DictOrder, py2StrHash, pybalHostOrder, pybalJsonHostOrder } from '../../src/api/py-compat.js';
import { cxView, healthyState } from './fixtures.js';

const RB = ['restbase1007.eqiad.wmnet', 'restbase1008.eqiad.wmnet', 'restbase1009.eqiad.wmnet', 'restbase1010.eqiad.wmnet'];
const [R7, R8, R9, R10] = RB;

t.test('restbase1007..1010: text and JSON orders differ exactly as the issue observed', async (t) => {
  // Home slots in an 8-slot table (hash & 7): 1007 -> 4, 1008 -> 3, 1009 -> 2, 1010 -> 4.
  t.same(RB.map((h) => Number(BigInt.asUintN(64, py2StrHash(h)) & 7n)), [4, 3, 2, 4]);
  // Whoever comes second to slot 4 probes i = 5*4 + perturb + 1 with perturb = its full hash, so
  // slot (21 + (hash & 7)) & 7 = 25 & 7 = 1 for both colliders. Filling in sorted order (the server
  // list's order) puts 1007 at 4 and 1010 at 1, so the dict iterates 1010(1) 1009(2) 1008(3) 1007(4).
  t.same(py2DictOrder(RB), [R10, R9, R8, R7], 'fill 1: the config dict');
  // Refilling from that order puts 1010 at 4 and 1007 at 1: the coordinator's `servers` dict.
  t.same(pybalHostOrder(RB), [R7, R9, R8, R10], 'fill 2: servers (the text order, what poold also gave for JSON)');
  // The JSON answer refills once more (`res`), which swaps them back: the PyBal order.
  t.same(pybalJsonHostOrder(RB), [R10, R9, R8, R7], 'fill 3: res, PyBal JSON as observed');
  t.same(pybalJsonHostOrder([...RB].reverse()), [R10, R9, R8, R7], 'independent of the order hosts are given in');
});

t.test('without collisions every fill gives the same order: slots ascending', async (t) => {
  // sca1001..1004 hash to distinct slots of an 8-slot table, so no fill can move them.
  const sca = ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet', 'sca1003.eqiad.wmnet', 'sca1004.eqiad.wmnet'];
  const slots = sca.map((h) => Number(BigInt.asUintN(64, py2StrHash(h)) & 7n));
  t.equal(new Set(slots).size, 4, `distinct home slots ${slots.join(',')}`);
  const bySlot = [...sca].sort((a, b) => slots[sca.indexOf(a)] - slots[sca.indexOf(b)]);
  t.same(pybalHostOrder(sca), bySlot);
  t.same(pybalJsonHostOrder(sca), bySlot);
  // One key alone, or two keys in different slots, trivially keep slot order too.
  t.same(pybalJsonHostOrder([R8, R9]), [R9, R8], '1009 (slot 2) before 1008 (slot 3)');
  // Two colliding keys alone: the refill alternates who owns slot 4, as above.
  t.same(py2DictOrder([R7, R10]), [R10, R7]);
  t.same(pybalHostOrder([R7, R10]), [R7, R10]);
  t.same(pybalJsonHostOrder([R7, R10]), [R10, R7]);
});

t.test('GET /pools/<pool>: text in servers order, JSON in res order', async (t) => {
  const view = new PoolView();
  view.setState(healthyState({ dc: 'eqiad', name: 'restbase' }, RB));
  const app = buildApi({ view });
  t.teardown(() => app.close());
  const text = await app.inject({ url: '/pools/restbase' });
  t.same(text.body.split('\n').filter(Boolean).map((l) => l.split(':')[0]), [R7, R9, R8, R10]);
  const json = await app.inject({ url: '/pools/restbase', headers: { accept: 'application/json' } });
  t.same(Object.keys(JSON.parse(json.body) as object), [R10, R9, R8, R7]);
  t.equal(
    json.body,
    `{"${R10}": {"pooled": true, "enabled": true, "up": true, "weight": 10}, "${R9}": {"pooled": true, "enabled": true, "up": true, "weight": 10}, ` +
      `"${R8}": {"pooled": true, "enabled": true, "up": true, "weight": 10}, "${R7}": {"pooled": true, "enabled": true, "up": true, "weight": 10}}`,
  );
});

t.test('the Twisted walk: empty segments name the same resource, the host is a leaf', async (t) => {
  t.same(resolvePoolsPath('/pools'), { kind: 'list' });
  t.same(resolvePoolsPath('/pools/'), { kind: 'list' });
  t.same(resolvePoolsPath('/pools//'), { kind: 'list' });
  t.same(resolvePoolsPath('/pools///?x=1'), { kind: 'list' });
  t.same(resolvePoolsPath('/pools//cxserver'), { kind: 'pool', pool: 'cxserver' });
  t.same(resolvePoolsPath('/pools/cxserver//'), { kind: 'pool', pool: 'cxserver' });
  t.same(resolvePoolsPath('/pools/cxserver//h1/'), { kind: 'host', pool: 'cxserver', host: 'h1' });
  t.same(resolvePoolsPath('/pools/cxserver/h1/x/y'), { kind: 'host', pool: 'cxserver', host: 'h1' });
  t.same(resolvePoolsPath('/pools/cx%73erver/h%2F1'), { kind: 'host', pool: 'cxserver', host: 'h/1' }, 'segments are unquoted after the split');
  t.same(resolvePoolsPath('/pools/100%/%zz'), { kind: 'host', pool: '100%', host: '%zz' }, 'a bad escape stays as is, like urllib.unquote');
  t.same(resolvePoolsPath('//pools'), { kind: 'notFound' }, "ServerRoot's child for '' is the 404 leaf");

  const app = buildApi({ view: cxView() });
  t.teardown(() => app.close());
  const list = (await app.inject({ url: '/pools' })).body;
  t.equal(list, 'cxserver\n');
  for (const url of ['/pools/', '/pools//', '/pools///']) {
    const r = await app.inject({ url });
    t.equal(r.statusCode, 200, url);
    t.equal(r.body, list, `${url} lists the pools, as PyBal does`);
  }
  t.equal((await app.inject({ url: '/pools//', headers: { accept: 'application/json' } })).body, '["cxserver"]');
  const pool = (await app.inject({ url: '/pools/cxserver' })).body;
  t.match(pool, /^sca1002\.eqiad\.wmnet:\t/);
  t.equal((await app.inject({ url: '/pools//cxserver' })).body, pool);
  t.equal((await app.inject({ url: '/pools/cxserver//' })).body, pool);
  t.equal((await app.inject({ url: '/pools/cxserver//sca1001.eqiad.wmnet' })).body, 'enabled/up/pooled\n');
  t.equal((await app.inject({ url: '/pools//nope' })).statusCode, 404);
  t.equal((await app.inject({ url: '/pools/cxserver//nope/' })).statusCode, 404);
});
