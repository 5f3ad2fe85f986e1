// A conftool pool's server list is stored once (/poold/v1/services/~pools/<dc>/<cluster>/<service>),
// not copied into every LVS service over the pool. The real daemon: a server added to the shared pool
// by sync reaches both sections over it, with one write of the list and no definition rewritten; a
// list another tool breaks keeps both sections on their last good definition, CRITICAL in /alerts,
// until it is fixed; a definition stored the older way (its own servers) still runs.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { lines, poolctl, poolsDir, startDaemon, text, waitFor } from './harness.js';

const PORT = 8091;
const A = ['127.0.91.1', '127.0.91.2', '127.0.91.3'];
const H = ['pl1001.eqiad.wmnet', 'pl1002.eqiad.wmnet', 'pl1003.eqiad.wmnet'];
const LIST = '/poold/v1/services/~pools/eqiad/plc/plsvc';
const DEFS = ['/poold/v1/services/eqiad/pla_8091', '/poold/v1/services/eqiad/plb_8091'];
const SECTIONS = ['pla_8091', 'plb_8091'];

const yaml = (hosts: number) => `dc: eqiad
pools:
  plc/plsvc:
    servers:
${H.slice(0, hosts).map((h, i) => `      ${h}: { weight: 10, address: ${A[i]} }`).join('\n')}
services:
${['pla', 'plb'].map((n, i) => `  ${n}:
    pool: plc/plsvc
    lvs: { ip: 10.9.91.${i + 1}, port: ${PORT} }
    depool_threshold: 0.5
    checks: [{ kind: http, path: /, timeout: 3s, interval: 300ms, rise: 1, fall: 1 }]
`).join('')}`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
await poolctl(['sync', poolsDir({ 'eqiad.yaml': yaml(2) }), '--yes'], etcd.clientUrl);
const d = await startDaemon(etcd.endpoints, { observer: 'pl-a' });
t.teardown(() => d.stop());

const OK = 'OK - All pools are healthy';
const alerts = () => text(`${d.url}/alerts`);
const pool = (s: string) => text(`${d.url}/pools/${s}`);
const up = (n: number) => lines(H.slice(0, n).map((h) => `${h}:\tenabled/up/pooled`).join('\n')).join();
const bothShow = async (what: string, n: number) => {
  for (const s of SECTIONS) await waitFor(`${s}: ${what}`, () => pool(s), (b) => lines(b).join() === up(n), 15_000);
};

t.test('sync stores the servers once; both sections run on them', async (t) => {
  const list = JSON.parse((await kv.get(LIST))!.value) as { servers: Record<string, unknown> };
  t.same(Object.keys(list.servers), H.slice(0, 2), 'the pool\'s list');
  for (const k of DEFS) t.notOk('servers' in (JSON.parse((await kv.get(k))!.value) as object), `${k} carries no servers`);
  await bothShow('two hosts up', 2);
  t.equal(await alerts(), OK);
});

t.test('a server added to the pool: one write of the list, both sections check it', async (t) => {
  const before = await Promise.all(DEFS.map(async (k) => (await kv.get(k))!.modRevision));
  await poolctl(['sync', poolsDir({ 'eqiad.yaml': yaml(3) }), '--yes'], etcd.clientUrl);
  t.same(await Promise.all(DEFS.map(async (k) => (await kv.get(k))!.modRevision)), before, 'no definition rewritten');
  await bothShow('three hosts up', 3);
});

t.test('a list another tool breaks: both sections keep their last good definition, CRITICAL, until fixed', async (t) => {
  const good = (await kv.get(LIST))!.value;
  await kv.txn({ compare: [], success: [{ type: 'put', key: LIST, value: '{"dc": "eqiad", "cluster": "plc", "service": "plsvc", "servers": [1]}' }] });
  const a = await waitFor('critical for both', alerts, (b) => SECTIONS.every((s) => b.includes(s)));
  t.match(a, /^CRITICAL - /);
  t.match(a, /server list is unreadable/, 'says what is wrong');
  // Still running: a failing backend is depooled in both, by the last good definitions' checks.
  await sim.setBehaviour(A[2], PORT, 'refused');
  for (const s of SECTIONS) await waitFor(`${s}: pl1003 down`, () => pool(s), (b) => b.includes(`${H[2]}:\tenabled/down/not pooled`), 15_000);
  await sim.setBehaviour(A[2], PORT, 'ok');
  await kv.txn({ compare: [], success: [{ type: 'put', key: LIST, value: good }] });
  t.equal(await waitFor('alert cleared', alerts, (b) => b === OK), OK);
  await bothShow('three hosts up again', 3);
});

t.test('a definition stored the older way (its own servers, no list) still runs on them', async (t) => {
  // pla's own list sends pl1003's checks to pl1001's address; plb keeps the pool's list.
  const own = Object.fromEntries(H.map((h, i) => [h, { weight: 10, address: A[i === 2 ? 0 : i] }]));
  const inline = { ...(JSON.parse((await kv.get(DEFS[0]))!.value) as Record<string, unknown>), servers: own };
  await kv.txn({ compare: [], success: [{ type: 'put', key: DEFS[0], value: JSON.stringify(inline) }] });
  await waitFor('pla runs its own list', () => text(`${d.url}/v1/pools/eqiad/pla_8091`), (b) => !b.includes(`"${A[2]}"`), 15_000);
  t.match(await text(`${d.url}/v1/pools/eqiad/plb_8091`), `"${A[2]}"`, 'plb: the pool\'s list');
  await sim.setBehaviour(A[2], PORT, 'refused');
  t.teardown(() => sim.setBehaviour(A[2], PORT, 'ok'));
  await waitFor('plb: pl1003 down', () => pool(SECTIONS[1]), (b) => b.includes(`${H[2]}:\tenabled/down/not pooled`), 15_000);
  await new Promise((r) => setTimeout(r, 1500)); // five of pla's check intervals
  t.match(await pool(SECTIONS[0]), `${H[2]}:\tenabled/up/pooled`, 'pla checks pl1003 where its own list says');
  t.equal(await waitFor('only plb is down', alerts, (b) => !b.includes('configuration')), await alerts(), 'no definition problem');
  // The list deleted: pla keeps running on its own servers, plb keeps its last good definition and says why.
  await kv.txn({ compare: [], success: [{ type: 'delete', key: LIST }] });
  const a = await waitFor('critical for plb', alerts, (b) => /plb_8091: configuration/.test(b));
  t.match(a, /no stored server list/);
  t.notMatch(a, /pla_8091: configuration/, 'pla does not need the list');
  t.match(await pool(SECTIONS[1]), `${H[2]}:\tenabled/down/not pooled`, 'plb: still checking with its last good definition');
});
