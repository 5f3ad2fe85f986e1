// readServices → planSync → writeAtomic(servicePlanOps): the sync path end to end on a real etcd.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { readServices, servicePlanOps } from '../../src/store/read.js';
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
const svc = { dc: 'eqiad', cluster: 'sca', service: 'cxserver' };
const put = (key: string, value: string) => kv.txn({ compare: [], success: [{ type: 'put', key, value }] });

const def: ServiceDef = {
  ...svc,
  lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
  depoolThreshold: 0.5,
  checks: [],
  flapping: { transitions: 6, windowMs: 600000 },
  monitoring: {},
  servers: { 'sca1001': { weight: 20 }, 'sca1002': { weight: 10 } },
};

t.test('sync plan applied atomically, guarded, audited; admin state kept', async (t) => {
  await put(keys.service(svc), JSON.stringify({ ...def, servers: { sca1001: { weight: 10 }, sca1003: { weight: 10 } }, extra: 'kept' }));
  await put(keys.host({ ...svc, host: 'sca1001' }), '{"weight": 10, "pooled": "no"}');
  await put(keys.host({ ...svc, host: 'sca1003' }), '{"weight": 10, "pooled": "yes"}');
  await put(keys.host({ dc: 'codfw', cluster: 'x', service: 'y', host: 'h1' }), '{"weight": 1, "pooled": "yes"}');

  const snap = await readServices(kv, keys);
  t.same(snap.services.map((s) => [`${s.key.dc}/${s.key.cluster}/${s.key.service}`, Object.keys(s.hosts), s.def !== null]),
    [['codfw/x/y', ['h1'], false], ['eqiad/sca/cxserver', ['sca1001', 'sca1003'], true]]);
  const plans = planSync([def], snap.services, { newHostPooled: 'yes' });
  const plan = plans.find((p) => p.key.dc === 'eqiad')!;
  const ops = servicePlanOps(keys, plan, snap);
  // New hosts before the definition, removals after (the order of a sync split into chunks).
  t.same(ops.map((o) => `${o.type} ${o.key}`), [
    `create ${keys.host({ ...svc, host: 'sca1002' })}`,
    `put ${keys.service(svc)}`,
    `delete ${keys.host({ ...svc, host: 'sca1003' })}`,
  ]);
  const r = await writeAtomic(kv, ops, { keys, actor: 'sync', reason: 'pools/ sync' });

  const after = await readServices(kv, keys);
  t.same(after.services.find((s) => s.key.dc === 'eqiad')?.hosts, {
    sca1001: { weight: 10, pooled: 'no' }, // operators' state untouched
    sca1002: { weight: 10, pooled: 'yes' },
  });
  t.equal((await kv.get(keys.host({ ...svc, host: 'sca1002' })))?.value, '{"weight": 10, "pooled": "yes"}', 'conftool bytes');
  t.equal(JSON.parse((await kv.get(keys.service(svc)))!.value).extra, 'kept', 'unknown definition fields survive');
  t.equal(after.modRevisions.get(keys.host({ ...svc, host: 'sca1002' })), r.revision);
  t.equal((await listAudit(kv, keys, { limit: 10 })).length, 3, 'one audit record per op');

  // A host changed by an operator after the read: the stale plan must not delete it.
  await put(keys.host({ ...svc, host: 'sca1003' }), '{"weight": 10, "pooled": "yes"}');
  const snap2 = await readServices(kv, keys);
  const plan2 = planSync([def], snap2.services, { newHostPooled: 'yes' }).find((p) => p.key.dc === 'eqiad')!;
  await put(keys.host({ ...svc, host: 'sca1003' }), '{"weight": 10, "pooled": "no"}');
  await t.rejects(writeAtomic(kv, servicePlanOps(keys, plan2, snap2), { keys, actor: 'sync', reason: '' }), ConflictError);
  t.ok(await kv.get(keys.host({ ...svc, host: 'sca1003' })), 'not deleted');
});

t.test('a garbage stored value stops the read with the key named', async (t) => {
  const bad = keys.host({ dc: 'ulsfo', cluster: 'c', service: 's', host: 'bad' });
  await put(bad, '{"weight": 1, "pooled": "sometimes"}');
  const err = await readServices(kv, keys).catch((e: unknown) => e);
  t.type(err, InvalidStoredValueError);
  t.match((err as Error).message, `invalid value at ${bad}: "pooled" must be one of yes, no, inactive`);
});
