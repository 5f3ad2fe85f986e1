// Split brain guard: the leader publishes pool state only in a transaction that checks that the
// election key still names it. Here another candidate's name is written over the key in place (the
// key's create revision is unchanged, so our Election does not notice, as when this leader was
// paused while its lease expired and someone else took over): changes must not be published by us.
// When the key names us again, publishing resumes. Also: crash() (no resign) hands leadership over.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { lines, poolctl, poolsDir, serviceYaml, sleep, startDaemon, text, waitFor } from './harness.js';
import { publishedState } from '../helpers/published.js';

const PORT = 8087;
const A = ['127.0.67.1', '127.0.67.2', '127.0.67.3'];
const H = ['lf1001.eqiad.wmnet', 'lf1002.eqiad.wmnet', 'lf1003.eqiad.wmnet'];
const ELECTION = '/poold/v1/election/leader-all';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'lfsvc', cluster: 'lfc', ip: '10.9.67.1', port: PORT, threshold: 0.5, servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);
const d = await startDaemon(etcd.endpoints, { observer: 'lf-a' });
t.teardown(() => d.stop());

const pooled = async (host: string) => (await publishedState(kv, 'eqiad/lfsvc_8087'))?.servers[host]?.pooled;
const setHolder = async (holder: string) => {
  const e = await kv.get(ELECTION);
  if (e === undefined) throw new Error('no election key');
  // Same lease, same create revision: only the value changes.
  await kv.txn({ compare: [], success: [{ type: 'put', key: ELECTION, value: holder, lease: e.lease }] });
};

t.test('a leader whose election key names someone else publishes nothing', async (t) => {
  await waitFor('lf-a leads and published', async () => d.isLeader && (await pooled(H[0])) === true, (ok) => ok, 15_000);
  t.equal((await kv.get(ELECTION))?.value, 'lf-a', 'the election key is named after the candidate');
  await setHolder('someone-else');
  await sim.setBehaviour(A[0], PORT, 'refused');
  // Our own checks see it (the observer keeps working) ...
  await waitFor('lf1001 checked down', async () => JSON.parse(await text(`${d.url}/v1/pools/eqiad/lfsvc_8087`)) as { hosts: Array<{ host: string; verdicts: Record<string, { up: boolean }> }> },
    (v) => v.hosts.some((h) => h.host === H[0] && Object.values(h.verdicts).some((x) => !x.up)));
  await sleep(1000);
  // ... but the state in etcd is not ours to write any more.
  t.equal(await pooled(H[0]), true, 'no depool published while fenced');
  t.equal(d.isLeader, true, 'the election itself did not notice (same create revision)');
});

t.test('named again: the pending change is published on the next change', async (t) => {
  await setHolder('lf-a');
  // The coordinator already applied lf1001's failure; any change marks the pool for publishing.
  await sim.setBehaviour(A[1], PORT, 'refused');
  await waitFor('lf1001 depooled in etcd', () => pooled(H[0]), (p) => p === false);
  const want = lines(`${H[0]}:\tenabled/down/not pooled\n${H[1]}:\tenabled/down/pooled\n${H[2]}:\tenabled/up/pooled\n`);
  t.same(lines(await waitFor('view follows', () => text(`${d.url}/pools/lfsvc_8087`), (b) => lines(b).join() === want.join())), want);
});

t.test('crash() does not resign: a second instance leads only after the lease TTL', async (t) => {
  const b = await startDaemon(etcd.endpoints, { observer: 'lf-b' });
  t.teardown(() => b.stop());
  t.equal(b.isLeader, false);
  const crashedAt = Date.now();
  await d.crash();
  await waitFor('lf-b leads', async () => b.isLeader, (l) => l, 10_000, 20);
  const ms = Date.now() - crashedAt;
  t.ok(ms >= 1000 && ms <= 3000, `takeover after ${ms} ms: the 2 s lease expired, nobody resigned`);
  t.equal((await kv.get(ELECTION))?.value, 'lf-b');
});
