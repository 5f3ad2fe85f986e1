import t from 'tap';
import { describePlan, planIsEmpty, planSync, type CurrentService } from '../../src/model/sync-plan.js';
import type { ServiceDef } from '../../src/model/types.js';

function def(servers: Record<string, number>, threshold = 0.5): ServiceDef {
  return {
    dc: 'eqiad', cluster: 'sca', service: 'cxserver',
    lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: threshold,
    checks: [],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: {},
    servers: Object.fromEntries(Object.entries(servers).map(([h, w]) => [h, { weight: w }])),
  };
}
const key = { dc: 'eqiad', cluster: 'sca', service: 'cxserver' };

t.test('creates a missing service and its hosts', async (t) => {
  const [p] = planSync([def({ a: 10, b: 5 })], [], { newHostPooled: 'yes' });
  t.equal(p.defAction, 'create');
  t.same(p.createHosts, [{ host: 'a', value: { weight: 10, pooled: 'yes' } }, { host: 'b', value: { weight: 5, pooled: 'yes' } }]);
  t.same(p.removeHosts, []);
});

t.test('never overwrites operator pooled/weight, but reports the kept difference', async (t) => {
  const d = def({ a: 10, b: 10 });
  const cur: CurrentService = { key, def: JSON.parse(JSON.stringify(d)), hosts: { a: { weight: 3, pooled: 'no' }, b: { weight: 10, pooled: 'yes' } } };
  const [p] = planSync([d], [cur], { newHostPooled: 'yes' });
  t.ok(planIsEmpty(p), 'nothing to write');
  t.same(p.kept, [{ host: 'a', field: 'weight', file: 10, etcd: 3 }]);
  t.match(describePlan(p).join('\n'), /weight 3 in etcd kept \(pools\/ says 10/);
});

t.test('removes hosts gone from the files; keeps unknown stored definition fields', async (t) => {
  const cur: CurrentService = { key, def: { ...def({ a: 1, b: 1 }), addedByOtherTool: 'x' }, hosts: { a: { weight: 1, pooled: 'yes' }, b: { weight: 1, pooled: 'yes' } } };
  const [p] = planSync([def({ a: 1 }, 0.7)], [cur], { newHostPooled: 'yes' });
  t.same(p.removeHosts, ['b']);
  t.equal(p.defAction, 'update');
  t.equal(p.putDef?.addedByOtherTool, 'x');
  t.equal(p.putDef?.depoolThreshold, 0.7);
});

t.test('key order written by other tools is not a change', async (t) => {
  const d = def({ a: 1 });
  const reordered = Object.fromEntries(Object.entries(JSON.parse(JSON.stringify(d))).reverse());
  const [p] = planSync([d], [{ key, def: reordered, hosts: { a: { weight: 1, pooled: 'yes' } } }], { newHostPooled: 'yes' });
  t.equal(p.defAction, 'none');
});

t.test('deletes services it manages that the files dropped; leaves unmanaged conftool keys alone', async (t) => {
  const managed: CurrentService = { key: { ...key, service: 'old' }, def: { service: 'old' }, hosts: { z: { weight: 1, pooled: 'yes' } } };
  const unmanaged: CurrentService = { key: { ...key, service: 'foreign' }, def: null, hosts: { y: { weight: 1, pooled: 'yes' } } };
  const plans = planSync([], [managed, unmanaged], { newHostPooled: 'yes' });
  t.equal(plans.length, 1);
  t.equal(plans[0].defAction, 'delete');
  t.same(plans[0].removeHosts, ['z']);
});
