import t from 'tap';
import { describePlan, planIsEmpty, planSync, type CurrentState } from '../../src/model/sync-plan.js';
import type { ConftoolValue, ServiceDef } from '../../src/model/types.js';

function def(servers: Record<string, number>, threshold = 0.5, name = 'cxserver_8080', pool = { cluster: 'sca', service: 'cxserver' }): ServiceDef {
  return {
    dc: 'eqiad', name, catalog: name.replace(/_\d+$/, ''), pool,
    lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: threshold,
    checks: [],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: {},
    servers: Object.fromEntries(Object.entries(servers).map(([h, w]) => [h, { weight: w }])),
  };
}
const key = { dc: 'eqiad', name: 'cxserver_8080' };
const poolKey = { dc: 'eqiad', cluster: 'sca', service: 'cxserver' };
/** A definition as sync stores it: without the servers, which the pool's list holds once. */
const stored = (d: ServiceDef): Record<string, unknown> => {
  const { servers: _servers, ...rest } = JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
  return rest;
};
/** What an older version stored: the servers inside the definition. */
const storedInline = (d: ServiceDef): Record<string, unknown> => JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
const current = (services: CurrentState['services'], hosts: Record<string, ConftoolValue> | null, list?: ServiceDef['servers']): CurrentState =>
  ({ services, pools: hosts === null ? [] : [{ key: poolKey, hosts, ...(list !== undefined ? { list } : {}) }] });

t.test('creates a missing service and its pool\'s hosts', async (t) => {
  const p = planSync([def({ a: 10, b: 5 })], current([], null), { newHostPooled: 'yes' });
  t.same(p.services, [{ key, putDef: stored(def({ a: 10, b: 5 })), defAction: 'create' }]);
  t.equal(p.pools.length, 1);
  t.same(p.pools[0].key, poolKey);
  t.same(p.pools[0].createHosts, [{ host: 'a', value: { weight: 10, pooled: 'yes' } }, { host: 'b', value: { weight: 5, pooled: 'yes' } }]);
  t.same(p.pools[0].removeHosts, []);
  t.same(p.pools[0].putList, { a: { weight: 10 }, b: { weight: 5 } }, 'the servers are stored once, as the pool\'s list');
});

t.test('many LVS services over one pool: the pool\'s hosts are planned once', async (t) => {
  const kube = { cluster: 'kubernetes', service: 'kubesvc' };
  const defs = ['apertium_4737', 'citoid_4003', 'mathoid_4001'].map((n) => def({ k1: 10, k2: 10 }, 0.5, n, kube));
  const p = planSync(defs, { services: [], pools: [] }, { newHostPooled: 'yes' });
  t.same(p.services.map((s) => s.key.name), ['apertium_4737', 'citoid_4003', 'mathoid_4001']);
  t.equal(p.pools.length, 1, 'one pool');
  t.same(p.pools[0].key, { dc: 'eqiad', ...kube });
  t.same(p.pools[0].createHosts.map((c) => c.host), ['k1', 'k2'], 'each host created once');
  t.same(describePlan(p).filter((l) => l.startsWith('+ eqiad/kubernetes/kubesvc/')).length, 2);
  t.same(p.pools[0].putList, { k1: { weight: 10 }, k2: { weight: 10 } }, 'one list for the three');
  t.notOk(p.services.some((s) => s.putDef !== null && 'servers' in s.putDef), 'no definition carries the servers');
});

t.test('a server added to a shared pool writes its list, not the definitions over it', async (t) => {
  const kube = { cluster: 'kubernetes', service: 'kubesvc' };
  const names = ['apertium_4737', 'citoid_4003', 'mathoid_4001'];
  const before = names.map((n) => def({ k1: 10, k2: 10 }, 0.5, n, kube));
  const cur: CurrentState = {
    services: before.map((d) => ({ key: { dc: d.dc, name: d.name }, def: stored(d) })),
    pools: [{ key: { dc: 'eqiad', ...kube }, hosts: { k1: { weight: 10, pooled: 'yes' }, k2: { weight: 10, pooled: 'yes' } }, list: before[0].servers }],
  };
  t.ok(planIsEmpty(planSync(before, cur, { newHostPooled: 'yes' })), 'stored as planned: nothing to write');
  const p = planSync(names.map((n) => def({ k1: 10, k2: 10, k3: 10 }, 0.5, n, kube)), cur, { newHostPooled: 'yes' });
  t.same(p.services.map((s) => s.defAction), ['none', 'none', 'none'], 'no definition rewritten');
  t.same(p.pools[0].createHosts.map((c) => c.host), ['k3']);
  t.same(Object.keys(p.pools[0].putList ?? {}), ['k1', 'k2', 'k3'], 'the list, once');
  t.ok(describePlan(p).includes('~ pool eqiad/kubernetes/kubesvc: server list (3 servers)'));
});

t.test('a definition stored with its servers (an older version) is rewritten without them, and the list written', async (t) => {
  const d = def({ a: 1 });
  const p = planSync([d], current([{ key, def: storedInline(d) }], { a: { weight: 1, pooled: 'yes' } }), { newHostPooled: 'yes' });
  t.equal(p.services[0].defAction, 'update');
  t.same(p.services[0].putDef, stored(d));
  t.same(p.pools[0].putList, d.servers);
  t.notOk(planIsEmpty(p));
});

t.test('a stored list no definition names any more goes; an unreadable one is rewritten', async (t) => {
  const d = def({ a: 1 });
  const stray = { dc: 'eqiad', cluster: 'sca', service: 'stray' };
  const cur: CurrentState = {
    services: [{ key, def: stored(d) }],
    pools: [{ key: poolKey, hosts: { a: { weight: 1, pooled: 'yes' } }, list: 'unreadable' }, { key: stray, hosts: {}, list: { x: { weight: 1 } } }],
  };
  const p = planSync([d], cur, { newHostPooled: 'yes' });
  t.same(p.pools.map((x) => [x.key.service, x.putList !== null, x.deleteList]), [['cxserver', true, false], ['stray', false, true]]);
  t.ok(describePlan(p).includes('- pool eqiad/sca/stray: server list'));
});

t.test('never overwrites operator pooled/weight, but reports the kept difference', async (t) => {
  const d = def({ a: 10, b: 10 });
  const p = planSync([d], current([{ key, def: stored(d) }], { a: { weight: 3, pooled: 'no' }, b: { weight: 10, pooled: 'yes' } }, d.servers), { newHostPooled: 'yes' });
  t.ok(planIsEmpty(p), 'nothing to write');
  t.same(p.pools[0].kept, [{ host: 'a', field: 'weight', file: 10, etcd: 3 }]);
  t.match(describePlan(p).join('\n'), /weight 3 in etcd kept \(pools\/ says 10/);
});

t.test('removes hosts gone from the files; keeps unknown stored definition fields', async (t) => {
  const cur = current([{ key, def: { ...stored(def({ a: 1, b: 1 })), addedByOtherTool: 'x' } }], { a: { weight: 1, pooled: 'yes' }, b: { weight: 1, pooled: 'yes' } });
  const p = planSync([def({ a: 1 }, 0.7)], cur, { newHostPooled: 'yes' });
  t.same(p.pools[0].removeHosts, ['b']);
  t.equal(p.services[0].defAction, 'update');
  t.equal(p.services[0].putDef?.addedByOtherTool, 'x');
  t.equal(p.services[0].putDef?.depoolThreshold, 0.7);
});

t.test('key order written by other tools is not a change', async (t) => {
  const d = def({ a: 1 });
  const reordered = Object.fromEntries(Object.entries(stored(d)).reverse());
  const list = Object.fromEntries(Object.entries(d.servers).reverse());
  const p = planSync([d], current([{ key, def: reordered }], { a: { weight: 1, pooled: 'yes' } }, list), { newHostPooled: 'yes' });
  t.equal(p.services[0].defAction, 'none');
  t.ok(planIsEmpty(p));
});

t.test('deletes services it manages that the files dropped, empties their pools; leaves unmanaged pools alone', async (t) => {
  const old = { dc: 'eqiad', name: 'old_80' };
  const cur: CurrentState = {
    services: [{ key: old, def: { name: 'old_80', pool: { cluster: 'sca', service: 'old' } } }],
    pools: [
      { key: { dc: 'eqiad', cluster: 'sca', service: 'old' }, hosts: { z: { weight: 1, pooled: 'yes' } }, list: { z: { weight: 1 } } },
      { key: { dc: 'eqiad', cluster: 'sca', service: 'foreign' }, hosts: { y: { weight: 1, pooled: 'yes' } } },
    ],
  };
  const p = planSync([], cur, { newHostPooled: 'yes' });
  t.same(p.services, [{ key: old, putDef: null, defAction: 'delete' }]);
  t.same(p.pools, [{ key: { dc: 'eqiad', cluster: 'sca', service: 'old' }, createHosts: [], removeHosts: ['z'], kept: [], putList: null, deleteList: true }]);
});

t.test('a dropped LVS service does not empty a pool another service still uses', async (t) => {
  const kube = { cluster: 'kubernetes', service: 'kubesvc' };
  const gone = def({ k1: 10 }, 0.5, 'gone_80', kube);
  const kept = def({ k1: 10 }, 0.5, 'kept_81', kube);
  const cur: CurrentState = {
    services: [{ key: { dc: 'eqiad', name: 'gone_80' }, def: stored(gone) }, { key: { dc: 'eqiad', name: 'kept_81' }, def: stored(kept) }],
    pools: [{ key: { dc: 'eqiad', ...kube }, hosts: { k1: { weight: 10, pooled: 'yes' } } }],
  };
  const p = planSync([kept], cur, { newHostPooled: 'yes' });
  t.same(p.services.filter((s) => s.defAction === 'delete').map((s) => s.key.name), ['gone_80']);
  t.same(p.pools.flatMap((x) => x.removeHosts), [], 'k1 stays: kept_81 still draws from the pool');
});
