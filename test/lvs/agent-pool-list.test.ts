// The LVS agent (etcd source) over definitions stored as sync stores them: without servers, which the
// pool's list (/poold/v1/services/~pools/<dc>/<cluster>/<service>) holds once for every section over
// the pool. A change of the list reaches every virtual service over the pool; a broken list leaves
// them exactly as they are, each reported with the list's problem, until it is fixed.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { encodePoolList } from '../../src/store/decode.js';
import { poolOf, type ServiceDef } from '../../src/model/types.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { poolState, serviceDef } from './lvs-fixtures.js';
import { putJson, putState, startTestAgent } from './agent-helpers.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const keys = new Keys();

// Two sections over one pool (sca/cxserver), on two VIPs.
const a = serviceDef();
const b: ServiceDef = { ...serviceDef({ service: 'cxserver_b', lvs: { ip: '10.2.2.19' } }), pool: a.pool };
const list = keys.poolList(poolOf(a));
const putList = (servers: ServiceDef['servers']) => kv.txn({ compare: [], success: [{ type: 'put', key: list, value: encodePoolList(poolOf(a), servers) }] });
for (const d of [a, b]) {
  const { servers: _servers, ...stored } = d;
  await putJson(kv, keys.service(d), stored);
  await putState(kv, poolState(d, Object.fromEntries(Object.keys(a.servers).map((h) => [h, {}])), 1));
}
await putList(a.servers);

const fake = fakeIpvsadm();
t.teardown(fake.cleanup);
const agent = await startTestAgent(fake, { kind: 'etcd', etcd: { endpoints: etcd.endpoints } }, { services: ['eqiad/cxserver', 'eqiad/cxserver_b'] });
t.teardown(() => agent.agent.stop());
const restores = (since: number) => fake.log().slice(since).filter((e) => e.argv[0] === '-R').map((e) => e.stdin);

t.test('both virtual services are built from the one list', async (t) => {
  await agent.next((r) => r.result === 'applied');
  const text = restores(0).join('');
  for (const vip of ['10.2.2.18', '10.2.2.19']) {
    for (const rs of ['10.64.0.1', '10.64.0.2', '10.64.0.3']) t.match(text, `-a -t ${vip}:8080 -r ${rs} -w 10`);
  }
});

t.test('a server\'s new address in the list moves it in both', async (t) => {
  const mark = fake.log().length;
  const since = agent.reports.length;
  await putList({ ...a.servers, 'sca1003.eqiad.wmnet': { weight: 10, address: '10.64.0.33' } });
  await agent.next((r) => r.result === 'applied' && r.commands.some((c) => c.includes('10.64.0.33')), since);
  const text = restores(mark).join('');
  for (const vip of ['10.2.2.18', '10.2.2.19']) {
    t.match(text, `-a -t ${vip}:8080 -r 10.64.0.33 -w 10`, `${vip}: the new address`);
    t.match(text, `-d -t ${vip}:8080 -r 10.64.0.3`, `${vip}: the old one gone`);
  }
});

t.test('a broken list: both left exactly as they are, each saying why; fixed, they follow again', async (t) => {
  const mark = fake.log().length;
  const since = agent.reports.length;
  await kv.txn({ compare: [], success: [{ type: 'put', key: list, value: '{"dc": "eqiad", "cluster": "sca", "service": "cxserver", "servers": "x"}' }] });
  const r = await agent.next((r) => r.services.filter((s) => s.skipped !== undefined).length === 2, since);
  for (const s of r.services) t.match(s.skipped, /server list is unreadable/, `${s.service} names the problem`);
  t.same(restores(mark), [], 'nothing applied');
  const fixed = agent.reports.length;
  await putList(a.servers);
  await agent.next((r) => r.result === 'applied' && r.commands.some((c) => c.includes('-r 10.64.0.3 ')), fixed);
  t.same(agent.agent.status().services.filter((s) => s.skipped !== undefined), [], 'no service skipped');
});
