// Values written by other tools at the keys poold reads, beyond service definitions
// (test/daemon/invalid-service.test.ts): a published state, an observation and a conftool value that
// the decoding layer (src/store/decode.ts) rejects. Each time poold keeps the last good value (the
// published pool and the host's admin state do not change), /alerts goes CRITICAL naming the key and
// the field, and rewriting or deleting the key clears it.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { lines, poolctl, poolsDir, serviceYaml, startDaemon, text, waitFor } from './harness.js';
import { publishedState } from '../helpers/published.js';

const PORT = 8087;
const A = ['127.0.67.1', '127.0.67.2', '127.0.67.3'];
const H = ['cv1001.eqiad.wmnet', 'cv1002.eqiad.wmnet', 'cv1003.eqiad.wmnet'];
const SECTION = `cvsvc_${PORT}`;
const STATE = `/poold/v1/state/eqiad/${SECTION}`;
const HOST0 = `/conftool/v1/pools/eqiad/cvc/cvsvc/${H[0]}`;
const ROGUE = `/poold/v1/health/eqiad/${SECTION}/${H[1]}/rogue-observer`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
await poolctl(['sync', poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'cvsvc', cluster: 'cvc', ip: '10.9.67.1', port: PORT, threshold: 0.5, servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}`,
})], etcd.clientUrl);
const d = await startDaemon(etcd.endpoints, { observer: 'cv-a' });
t.teardown(() => d.stop());

const put = (key: string, value: string) => kv.txn({ compare: [], success: [{ type: 'put', key, value }] });
const del = (key: string) => kv.txn({ compare: [], success: [{ type: 'delete', key }] });
const alerts = () => text(`${d.url}/alerts`);
const pool = () => text(`${d.url}/pools/${SECTION}`);
const OK = 'OK - All pools are healthy';
const allUp = lines(H.map((h) => `${h}:\tenabled/up/pooled`).join('\n'));

await waitFor('all up and published', pool, (b) => lines(b).join() === allUp.join(), 20_000);

t.test('a conftool value another tool broke: the host keeps its last good admin state, CRITICAL names the key', async (t) => {
  t.equal(await alerts(), OK);
  await put(HOST0, '{"weight": 10, "pooled": "maybe"}');
  const a = await waitFor('critical alert', alerts, (b) => b.includes(HOST0));
  t.match(a, new RegExp(`^CRITICAL - ${SECTION}: configuration drift: etcd: invalid value at ${HOST0}: "pooled" must be one of yes, no, inactive.*keeping the last good value$`));
  t.same(lines(await pool()), allUp, 'still enabled and pooled (the last good value)');
  await put(HOST0, '{"weight": 10, "pooled": "no"}');
  await waitFor('alert cleared', alerts, (b) => b === OK);
  await waitFor('the readable depool applied', pool, (b) => b.includes(`${H[0]}:\tdisabled/up/not pooled`));
  await put(HOST0, '{"weight": 10, "pooled": "yes"}');
  await waitFor('repooled', pool, (b) => lines(b).join() === allUp.join());
});

t.test('an unreadable observation: ignored, CRITICAL names the key and the field; deleting it clears', async (t) => {
  await put(ROGUE, JSON.stringify({ up: 'nope', at: Date.now() }));
  const a = await waitFor('critical alert', alerts, (b) => b.includes(ROGUE));
  t.match(a, /"up" must be true or false.*keeping the last good value/);
  t.same(lines(await pool()), allUp, 'no host changed');
  await del(ROGUE);
  t.equal(await waitFor('alert cleared', alerts, (b) => b === OK), OK);
});

t.test('a published state overwritten with garbage: the API keeps serving the last good state, with CRITICAL', async (t) => {
  await put(STATE, '{"dc": "eqiad", "name": "cvsvc_8087", "servers": 12}');
  const a = await waitFor('critical alert', alerts, (b) => b.includes(STATE));
  t.match(a, /servers: expected an object.*keeping the last good value/);
  t.same(lines(await pool()), allUp, 'the last good state is still served');
  // The leader's next publication replaces the value (a change of health makes one).
  await sim.setBehaviour(A[2], PORT, 'refused');
  const want = lines(`${H[0]}:\tenabled/up/pooled\n${H[1]}:\tenabled/up/pooled\n${H[2]}:\tenabled/down/not pooled`);
  t.same(lines(await waitFor('cv1003 depooled', pool, (b) => lines(b).join() === want.join(), 20_000)), want);
  t.equal(await waitFor('alert cleared by the new publication', alerts, (b) => !b.includes(STATE), 20_000).then((b) => b.includes(STATE)), false);
  await sim.setBehaviour(A[2], PORT, 'ok');
});

t.test('a server key of the published state deleted by another tool: the leader publishes the section whole again', async (t) => {
  // Wait for a publication in the split form (header without servers; store/state-layout.ts).
  await waitFor('a split header', async () => (await kv.get(STATE))?.value ?? '', (v) => v !== '' && !v.includes('"servers":'), 20_000);
  const serverKey = `${STATE}/${H[1]}`;
  t.ok(await kv.get(serverKey), 'the server key exists');
  await del(serverKey);
  // Readers see the state as unreadable (server keys changed without their header); the leader forgets
  // what it wrote there and republishes: the header inline at once, then every server key again.
  const back = await waitFor('the server key written again', () => kv.get(serverKey), (e) => e !== undefined, 10_000);
  t.match(JSON.parse(back!.value), { pooled: true, up: true }, 'with its state');
  const state = await publishedState(kv, `eqiad/${SECTION}`);
  t.same(Object.keys(state!.servers).sort(), [...H].sort(), 'readers get the whole state again');
  t.equal(await waitFor('no alert left', alerts, (b) => b === OK, 10_000), OK);
  t.same(lines(await pool()), allUp, 'nothing was depooled meanwhile');
});
