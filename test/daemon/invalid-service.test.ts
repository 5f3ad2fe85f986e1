// Another tool writes an unusable service definition to /poold/v1/services/...: poold keeps running
// the last good one (checks and threshold unchanged), /alerts goes CRITICAL naming the pool and the
// key, and fixing the value clears the alert.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { lines, poolctl, poolsDir, serviceYaml, startDaemon, text, waitFor } from './harness.js';

const PORT = 8086;
const A = ['127.0.66.1', '127.0.66.2', '127.0.66.3'];
const H = ['iv1001.eqiad.wmnet', 'iv1002.eqiad.wmnet', 'iv1003.eqiad.wmnet'];
const KEY = '/poold/v1/services/eqiad/ivsvc_8086';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'ivsvc', cluster: 'ivc', ip: '10.9.66.1', port: PORT, threshold: 0.5, servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);
const good = (await kv.get(KEY))?.value;
if (good === undefined) throw new Error(`sync wrote no ${KEY}`);
const d = await startDaemon(etcd.endpoints, { observer: 'iv-a' });
t.teardown(() => d.stop());

const put = (value: string) => kv.txn({ compare: [], success: [{ type: 'put', key: KEY, value }] });
const alerts = () => text(`${d.url}/alerts`);
const pool = () => text(`${d.url}/pools/ivsvc_8086`);
const OK = 'OK - All pools are healthy';
const allUp = lines(H.map((h) => `${h}:\tenabled/up/pooled`).join('\n'));

t.test('garbage JSON: CRITICAL naming the pool and key; the last good definition keeps running', async (t) => {
  await waitFor('all up', pool, (b) => lines(b).join() === allUp.join(), 15_000);
  t.equal(await alerts(), OK);
  await put('{"dc": "eqiad", this is not json');
  const a = await waitFor('critical alert', alerts, (b) => b !== OK);
  t.match(a, /^CRITICAL - ivsvc_8086: configuration drift: etcd: .*running the last good definition$/);
  t.match(a, KEY, 'names the key');
  // Checks still run with the last good definition: a failing backend is still depooled.
  await sim.setBehaviour(A[0], PORT, 'refused');
  const want = lines(`${H[0]}:\tenabled/down/not pooled\n${H[1]}:\tenabled/up/pooled\n${H[2]}:\tenabled/up/pooled`);
  t.same(lines(await waitFor('iv1001 depooled', pool, (b) => lines(b).join() === want.join())), want);
  const v1 = JSON.parse(await text(`${d.url}/v1/pools/eqiad/ivsvc_8086`)) as { threshold: { depoolThreshold: number }; lvs: { port: number } };
  t.equal(v1.threshold.depoolThreshold, 0.5, 'last good threshold');
  t.equal(v1.lvs.port, PORT, 'last good lvs');
});

t.test('valid JSON with wrong types: still CRITICAL, saying which field', async (t) => {
  const bad = { ...(JSON.parse(good) as Record<string, unknown>), depoolThreshold: 'high' };
  await put(JSON.stringify(bad));
  const a = await waitFor('critical names depoolThreshold', alerts, (b) => /depoolThreshold/.test(b));
  t.match(a, /^CRITICAL - ivsvc_8086: configuration drift: etcd: .*depoolThreshold.*running the last good definition$/);
  const v1 = JSON.parse(await text(`${d.url}/v1/pools/eqiad/ivsvc_8086`)) as { threshold: { depoolThreshold: number } };
  t.equal(v1.threshold.depoolThreshold, 0.5, 'the wrong value was not applied');
});

t.test('fixing the value clears the alert', async (t) => {
  await sim.setBehaviour(A[0], PORT, 'ok');
  await put(good);
  t.equal(await waitFor('alert cleared', alerts, (b) => b === OK), OK);
  t.same(lines(await waitFor('all up again', pool, (b) => lines(b).join() === allUp.join())), allUp);
});
