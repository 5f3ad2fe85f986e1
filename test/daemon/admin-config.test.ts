// Operators and config changes against a running poold: `poolctl depool` takes the host out of the
// pool (PyBal shows it disabled), and a depool threshold raised in pools/ and synced is honoured at
// once, by repooling down servers if needed (PyBal 1.15's T184715 ignored the threshold on reload).
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { lines, poolctl, poolsDir, serviceYaml, startDaemon, text, waitFor } from './harness.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PORT = 8082;
const A = ['127.0.62.1', '127.0.62.2', '127.0.62.3', '127.0.62.4'];
const H = ['ad1001.eqiad.wmnet', 'ad1002.eqiad.wmnet', 'ad1003.eqiad.wmnet', 'ad1004.eqiad.wmnet'];
const GONE = serviceYaml({ name: 'adgone', cluster: 'adc', ip: '10.9.62.2', port: PORT, threshold: 0.5, servers: { 'adgone1001.eqiad.wmnet': A[1] } });
const yaml = (threshold: number, withGone = true) =>
  `dc: eqiad\nservices:\n${serviceYaml({ name: 'adsvc', cluster: 'adc', ip: '10.9.62.1', port: PORT, threshold, servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}${withGone ? GONE : ''}`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({ 'eqiad.yaml': yaml(0.5) });
await poolctl(['sync', dir], etcd.clientUrl);
const d = await startDaemon(etcd.endpoints, { observer: 'ad-a' });
t.teardown(() => d.stop());

const pool = () => text(`${d.url}/pools/adsvc_8082`);
const expectPool = (status: string[]) => lines(H.map((h, i) => `${h}:\t${status[i]}`).join('\n'));
const same = (want: string[]) => (b: string) => lines(b).join('|') === want.join('|');
const UP = 'enabled/up/pooled';

t.test('poolctl depool: the host leaves the pool, shown as disabled', async (t) => {
  await waitFor('all pooled', pool, same(expectPool([UP, UP, UP, UP])), 15_000);
  const r = await poolctl(['depool', 'ad1001', '--reason', 'maintenance'], etcd.clientUrl);
  t.match(r.stdout, /ad1001\.eqiad\.wmnet: pooled yes -> no/);
  const want = expectPool(['disabled/up/not pooled', UP, UP, UP]);
  t.same(lines(await waitFor('ad1001 disabled', pool, same(want))), want);
  t.equal(await text(`${d.url}/pools/adsvc_8082/${H[0]}`), 'disabled/up/not pooled\n');
  t.equal(await text(`${d.url}/alerts`), 'OK - All pools are healthy');
});

t.test('failures with one host disabled: total is still 4, so 2 up-and-enabled are required', async (t) => {
  await sim.setBehaviour(A[2], PORT, 'refused');
  const one = expectPool(['disabled/up/not pooled', UP, 'enabled/down/not pooled', UP]);
  t.same(lines(await waitFor('ad1003 depooled', pool, same(one))), one);
  await sim.setBehaviour(A[3], PORT, 'refused');
  const two = expectPool(['disabled/up/not pooled', UP, 'enabled/down/not pooled', 'enabled/down/pooled']);
  t.same(lines(await waitFor('ad1004 kept', pool, same(two))), two);
  t.equal(await text(`${d.url}/alerts`), `CRITICAL - adsvc_8082: Servers ${H[3]} are marked down but pooled`);
});

t.test('threshold raised to .75 in pools/ and synced: 3 must stay pooled, so ad1003 is repooled', async (t) => {
  // Watch /pools while the change lands: the pooled count must never drop below the old requirement.
  let watching = true;
  const seen: string[] = [];
  const watcher = (async () => {
    while (watching) {
      seen.push(await pool());
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  writeFileSync(join(dir, 'eqiad.yaml'), yaml(0.75, true));
  const r = await poolctl(['sync', dir], etcd.clientUrl);
  t.match(r.stdout, /~ service eqiad\/adsvc_8082 \(definition changed\)/, 'sync reports the service change');
  const want = expectPool(['disabled/up/not pooled', UP, 'enabled/down/pooled', 'enabled/down/pooled']);
  t.same(lines(await waitFor('ad1003 repooled by the new threshold', pool, same(want))), want);
  watching = false;
  await watcher;
  const pooledCounts = seen.map((b) => lines(b).filter((l) => l.endsWith('/pooled')).length);
  t.ok(pooledCounts.length > 0 && pooledCounts.every((n) => n >= 2), `pooled never below 2 during the change (saw ${[...new Set(pooledCounts)].join(',')})`);
  t.equal(await text(`${d.url}/alerts`), `CRITICAL - adsvc_8082: Servers ${H[2]}, ${H[3]} are marked down but pooled`);
  // The admin depool survives the sync: operators' runtime state is never overwritten.
  t.equal(await text(`${d.url}/pools/adsvc_8082/${H[0]}`), 'disabled/up/not pooled\n');
});

t.test('recovery under the new threshold: both repooled servers are healthy again, alert clears', async (t) => {
  await sim.setBehaviour(A[2], PORT, 'ok');
  await sim.setBehaviour(A[3], PORT, 'ok');
  const want = expectPool(['disabled/up/not pooled', UP, UP, UP]);
  t.same(lines(await waitFor('all enabled up', pool, same(want))), want);
  t.equal(await text(`${d.url}/alerts`), 'OK - All pools are healthy');
});

t.test('a pool removed from pools/ and synced leaves /pools, and its published state is deleted', async (t) => {
  const kv = new GatewayKv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  t.same(lines(await text(`${d.url}/pools`)), ['adgone_8082', 'adsvc_8082']);
  t.ok(await kv.get('/poold/v1/state/eqiad/adgone_8082'), 'published while defined');
  writeFileSync(join(dir, 'eqiad.yaml'), yaml(0.75, false));
  const r = await poolctl(['sync', dir], etcd.clientUrl);
  t.match(r.stdout, /- service eqiad\/adgone_8082$/m);
  t.equal(await waitFor('adgone gone from /pools', () => text(`${d.url}/pools`), (b) => b === 'adsvc_8082\n'), 'adsvc_8082\n');
  await waitFor('state key deleted', () => kv.get('/poold/v1/state/eqiad/adgone_8082'), (e) => e === undefined);
  t.equal(await text(`${d.url}/pools/adgone_8082`), 'The desired url was not found');
});
