// etcd goes away for 10 s under a running poold: it keeps serving the last state (fail-static),
// says it is stale in /alerts, empties nothing, and recovers by itself when etcd is back.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { lines, poolctl, poolsDir, serviceYaml, sleep, startDaemon, text, waitFor } from './harness.js';

const PORT = 8084;
const A = ['127.0.64.1', '127.0.64.2', '127.0.64.3'];
const H = ['eo1001.eqiad.wmnet', 'eo1002.eqiad.wmnet', 'eo1003.eqiad.wmnet'];

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: A.map((address, i) => ({ address, port: PORT, behaviour: i === 2 ? 'refused' as const : 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'eosvc', cluster: 'eoc', ip: '10.9.64.1', port: PORT, threshold: 0.5, servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);
const d = await startDaemon(etcd.endpoints, { observer: 'eo-a' });
t.teardown(() => d.stop());

const pool = () => text(`${d.url}/pools/eosvc_8084`);
const BEFORE = lines(`${H[0]}:\tenabled/up/pooled\n${H[1]}:\tenabled/up/pooled\n${H[2]}:\tenabled/down/not pooled\n`);
const STALE = /^WARNING - Pool eosvc_8084 state stale for (\d+)s\. $/;

t.test('before the outage: two pooled, the refusing one depooled', async (t) => {
  t.same(lines(await waitFor('steady state', pool, (b) => lines(b).join() === BEFORE.join(), 15_000)), BEFORE);
  t.equal(await text(`${d.url}/alerts`), 'OK - All pools are healthy');
});

t.test('etcd stopped for 10 s: same pools, stale warning with a growing age', async (t) => {
  await etcd.stop();
  const first = await waitFor('stale warning', () => text(`${d.url}/alerts`), (b) => STALE.test(b), 10_000);
  t.match(first, STALE);
  const ages: number[] = [];
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    // Every read during the outage: the last state, never emptied.
    t.same(lines(await pool()), BEFORE, 'still serving the last state');
    const a = await text(`${d.url}/alerts`);
    const m = STALE.exec(a);
    t.ok(m, `stale warning shape: ${JSON.stringify(a)}`);
    if (m) ages.push(Number(m[1]));
    await sleep(1000);
  }
  t.equal(await text(`${d.url}/pools`), 'eosvc_8084\n');
  t.ok(ages[ages.length - 1] >= 8, `age grows to the outage length (saw ${ages.join(',')})`);
  t.ok(ages.every((n, i) => i === 0 || n >= ages[i - 1]), 'age never goes back');
  const v1 = JSON.parse(await text(`${d.url}/v1/pools/eqiad/eosvc_8084`)) as { stale: boolean; counts: { pooled: number } };
  t.equal(v1.stale, true);
  t.equal(v1.counts.pooled, 2);
});

t.test('etcd back: stale clears without restarting poold, and new changes show up', async (t) => {
  await etcd.restart();
  t.equal(await waitFor('stale cleared', () => text(`${d.url}/alerts`), (b) => b === 'OK - All pools are healthy', 20_000), 'OK - All pools are healthy');
  t.same(lines(await pool()), BEFORE, 'state unchanged by the outage');
  await poolctl(['depool', 'eo1001', '--force', '--reason', 'after the outage'], etcd.clientUrl);
  // With eo1001 disabled only eo1002 is up and enabled: 1 < 3 × .5, so the leader must force the
  // down eo1003 back into the pool (ensure threshold), and say so.
  const want = lines(`${H[0]}:\tdisabled/up/not pooled\n${H[1]}:\tenabled/up/pooled\n${H[2]}:\tenabled/down/pooled\n`);
  t.same(lines(await waitFor('depool after recovery visible', pool, (b) => lines(b).join() === want.join(), 15_000)), want);
  t.equal(await text(`${d.url}/alerts`), `CRITICAL - eosvc_8084: Servers ${H[2]} are marked down but pooled`);
  // Health keeps flowing too: the refusing backend recovers and is repooled.
  await sim.setBehaviour(A[2], PORT, 'ok');
  const healed = lines(`${H[0]}:\tdisabled/up/not pooled\n${H[1]}:\tenabled/up/pooled\n${H[2]}:\tenabled/up/pooled\n`);
  t.same(lines(await waitFor('health after recovery visible', pool, (b) => lines(b).join() === healed.join(), 15_000)), healed);
});
