// readServices → planSync → writeAtomic(poolPlanOps / serviceDefOps): the sync path end to end on a real etcd.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { poolPlanOps, readServices, serviceDefOps } from '../../src/store/read.js';
import { writeAtomic } from '../../src/store/write.js';
import { listAudit } from '../../src/store/audit.js';
import { ConflictError } from '../../src/store/errors.js';
import { planSync } from '../../src/model/sync-plan.js';
import { InvalidStoredValueError } from '../../src/model/errors.js';
import type { ServiceDef } from '../../src/model/types.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const keys = new Keys();
const svc = { dc: 'eqiad', name: 'cxserver_8080' };
const pool = { dc: 'eqiad', cluster: 'sca', service: 'cxserver' };
const put = (key: string, value: string) => kv.txn({ compare: [], success: [{ type: 'put', key, value }] });

const def: ServiceDef = {
  ...svc,
  catalog: 'cxserver',
  pool: { cluster: 'sca', service: 'cxserver' },
  lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
  depoolThreshold: 0.5,
  checks: [],
  flapping: { transitions: 6, windowMs: 600000 },
  monitoring: {},
  servers: { 'sca1001': { weight: 20 }, 'sca1002': { weight: 10 } },
};

t.test('sync plan applied atomically, guarded, audited; admin state kept', async (t) => {
  await put(keys.service(svc), JSON.stringify({ ...def, servers: { sca1001: { weight: 10 }, sca1003: { weight: 10 } }, extra: 'kept' }));
  await put(keys.host({ ...pool, host: 'sca1001' }), '{"weight": 10, "pooled": "no"}');
  await put(keys.host({ ...pool, host: 'sca1003' }), '{"weight": 10, "pooled": "yes"}');
  await put(keys.host({ dc: 'codfw', cluster: 'x', service: 'y', host: 'h1' }), '{"weight": 1, "pooled": "yes"}');

  const snap = await readServices(kv, keys);
  t.same(snap.current.services.map((s) => [`${s.key.dc}/${s.key.name}`, s.def.extra]), [['eqiad/cxserver_8080', 'kept']]);
  t.same(snap.current.pools.map((p) => [`${p.key.dc}/${p.key.cluster}/${p.key.service}`, Object.keys(p.hosts)]).sort(),
    [['codfw/x/y', ['h1']], ['eqiad/sca/cxserver', ['sca1001', 'sca1003']]]);
  const plan = planSync([def], snap.current, { newHostPooled: 'yes' });
  const ops = [...poolPlanOps(keys, plan.pools.find((p) => p.key.dc === 'eqiad')!, snap), ...serviceDefOps(keys, plan.services, snap)];
  t.same(ops.map((o) => `${o.type} ${o.key}`), [
    `create ${keys.host({ ...pool, host: 'sca1002' })}`,
    `delete ${keys.host({ ...pool, host: 'sca1003' })}`,
    `put ${keys.poolList({ dc: 'eqiad', ...def.pool })}`,
    `put ${keys.service(svc)}`,
  ]);
  t.same(plan.pools.map((p) => p.key.service), ['cxserver'], 'the pool no stored definition names (codfw/x/y) is not touched');
  const r = await writeAtomic(kv, ops, { keys, actor: 'sync', reason: 'pools/ sync' });

  const after = await readServices(kv, keys);
  t.same(after.current.pools.find((p) => p.key.dc === 'eqiad')?.hosts, {
    sca1001: { weight: 10, pooled: 'no' }, // operators' state untouched
    sca1002: { weight: 10, pooled: 'yes' },
  });
  t.equal((await kv.get(keys.host({ ...pool, host: 'sca1002' })))?.value, '{"weight": 10, "pooled": "yes"}', 'conftool bytes');
  t.equal(JSON.parse((await kv.get(keys.service(svc)))!.value).extra, 'kept', 'unknown definition fields survive');
  t.equal(after.modRevisions.get(keys.host({ ...pool, host: 'sca1002' })), r.revision);
  t.equal((await listAudit(kv, keys, { limit: 10 })).length, 4, 'one audit record per op');
  // The older form (servers in the definition) is rewritten: the pool's list once, beside it.
  t.notOk('servers' in JSON.parse((await kv.get(keys.service(svc)))!.value), 'the stored definition carries no server list');
  t.same(JSON.parse((await kv.get(keys.poolList({ dc: 'eqiad', ...def.pool })))!.value).servers, def.servers, 'the pool\'s list holds the servers');
  t.same(after.current.pools.find((p) => p.key.dc === 'eqiad')?.list, def.servers, 'read back as the pool\'s list');
  t.same(planSync([def], after.current, { newHostPooled: 'yes' }).pools.map((p) => p.putList), [null], 'nothing left to write');

  // A host changed by an operator after the read: the stale plan must not delete it.
  await put(keys.host({ ...pool, host: 'sca1003' }), '{"weight": 10, "pooled": "yes"}');
  const snap2 = await readServices(kv, keys);
  const plan2 = planSync([def], snap2.current, { newHostPooled: 'yes' }).pools.find((p) => p.key.dc === 'eqiad')!;
  await put(keys.host({ ...pool, host: 'sca1003' }), '{"weight": 10, "pooled": "no"}');
  await t.rejects(writeAtomic(kv, poolPlanOps(keys, plan2, snap2), { keys, actor: 'sync', reason: '' }), ConflictError);
  t.ok(await kv.get(keys.host({ ...pool, host: 'sca1003' })), 'not deleted');
});

t.test('a garbage stored value stops the read with the key named', async (t) => {
  const bad = keys.host({ dc: 'ulsfo', cluster: 'c', service: 's', host: 'bad' });
  await put(bad, '{"weight": 1, "pooled": "sometimes"}');
  const err = await readServices(kv, keys).catch((e: unknown) => e);
  t.type(err, InvalidStoredValueError);
  t.match((err as Error).message, `invalid value at ${bad}: "pooled" must be one of yes, no, inactive`);
});
