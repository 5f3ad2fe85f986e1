// The admin events of the conftool watch (src/daemon/watch-admin.ts), against a real etcd, a real
// poold (in-process Daemon) and real poolctl: values listed at start are not events (a start must not
// flood the replay buffer); a poolctl write is an event naming its actor and reason (the audit record
// at the write's revision); a raw etcd write names nobody; a deleted host is an event with no value.
import t from 'tap';
import { Etcd3 } from 'etcd3';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import type { PoolEvent } from '../../src/api/event-bus.js';
import { poolctl, poolsDir, serviceYaml, startDaemon, waitFor } from './harness.js';

const PORT = 8097;
const A = ['127.0.73.1', '127.0.73.2', '127.0.73.3', '127.0.73.4'];
const H = ['ae1001.eqiad.wmnet', 'ae1002.eqiad.wmnet', 'ae1003.eqiad.wmnet', 'ae1004.eqiad.wmnet'];
const confKey = (h: string) => `/conftool/v1/pools/eqiad/aec/aesvc/${h}`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'aesvc', cluster: 'aec', ip: '10.9.73.1', port: PORT, threshold: 0.25, servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);
const d = await startDaemon(etcd.endpoints, { observer: 'ae-a' });
t.teardown(() => d.stop());
const client = new Etcd3({ hosts: etcd.endpoints });
t.teardown(() => client.close());

const adminEvents = () => d.view.events.recent().filter((e): e is Extract<PoolEvent, { type: 'admin' }> => e.type === 'admin');
const eventOf = (host: string) => waitFor(`admin event of ${host}`, () => Promise.resolve(adminEvents().find((e) => e.host === host)), (e) => e !== undefined, 15_000);

t.test('values listed at start are not admin events', async (t) => {
  // The list at start delivered all four hosts; the replay buffer has pool and state events, no admin ones.
  t.equal(d.data.admin.get('eqiad/aec/aesvc')?.size, 4, 'all four hosts were listed');
  t.same(adminEvents(), []);
});

t.test('a poolctl depool is an admin event naming its actor and reason', async (t) => {
  await poolctl(['depool', H[0], '--reason', 'T1234 reimage'], etcd.clientUrl);
  const e = await eventOf(H[0]);
  t.match(e, { pool: { dc: 'eqiad', cluster: 'aec', service: 'aesvc' }, services: ['aesvc_8097'], before: { pooled: 'yes', weight: 10 }, after: { pooled: 'no', weight: 10 } });
  // The audit record is read after the value: the event waits for it, so actor and reason are there.
  t.equal(e?.actor, 'tester');
  t.equal(e?.reason, 'T1234 reimage');
});

t.test('a raw etcd write is an admin event naming nobody', async (t) => {
  await client.put(confKey(H[1])).value('{"weight": 5, "pooled": "yes"}');
  const e = await eventOf(H[1]);
  t.match(e, { before: { pooled: 'yes', weight: 10 }, after: { pooled: 'yes', weight: 5 } });
  t.equal(e !== undefined && 'actor' in e, false, 'no actor');
  t.equal(e !== undefined && 'reason' in e, false, 'no reason');
});

t.test('a deleted host is an admin event with no value, and leaves the mirror', async (t) => {
  await client.delete().key(confKey(H[2]));
  const e = await eventOf(H[2]);
  t.match(e, { before: { pooled: 'yes', weight: 10 }, after: null });
  t.equal(d.data.admin.get('eqiad/aec/aesvc')?.has(H[2]), false);
  t.equal(adminEvents().length, 3, 'one event per change, nothing else');
});
