// The published state's layout in etcd (src/store/state-layout.ts), end to end against a real etcd
// with its default limits: the real leader publishes a 200-host LVS service through changes of every
// size (one host: split form, the changed server key and the header in one transaction; 150 hosts at
// once: inline form, then the server keys converged afterwards), while a reader lists and watches the
// prefix through the store's listThenWatch and the assembler. The reader must never see a state that
// fails to decode or that the leader did not publish, and must end on the leader's last state.
// Also: reads of one service by its range are not confused by a neighbour whose name extends it,
// and a removed service's header and server keys all go.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openKv } from '../../src/store/connection.js';
import type { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import { Keys } from '../../src/store/keys.js';
import { listThenWatch } from '../../src/store/watch.js';
import { StateAssembler, readAssembledStates } from '../../src/store/state-layout.js';
import { decodeAssembledState } from '../../src/store/decode.js';
import { ETCD_MAX_TXN_OPS } from '../../src/store/limits.js';
import { Leader } from '../../src/daemon/leader.js';
import type { Kv } from '../../src/store/kv.js';
import { poolOf, poolPath, servicePath, type PoolState, type ServiceDef } from '../../src/model/types.js';
import { testLog, waitFor } from './harness.js';
import { checklessDef, pooledData, recordingKv } from './leader-fixtures.js';
import { publishedState } from '../helpers/published.js';

const keys = new Keys();
const etcd = await startEtcd();
t.teardown(() => etcd.stop());

const def = (name: string, hosts: number) => checklessDef(name, hosts, 0.1);

/** A leader over `defs`, all hosts pooled; `set` changes one host's admin value as a conftool write would. */
function leaderOver(kv: Kv, defs: ServiceDef[]) {
  const data = pooledData(defs);
  let now = 1_700_000_000_000;
  const published: PoolState[] = [];
  const leader = new Leader({ kv, keys, data, quorum: 'majority', log: testLog, now: () => now, onPublished: (s) => published.push(s) });
  const set = (d: ServiceDef, host: string, weight: number) => {
    now += 10;
    data.admin.get(poolPath(poolOf(d)))!.set(host, { weight, pooled: 'yes' });
    leader.adminChanged(poolPath(poolOf(d)), host);
  };
  return { leader, data, published, set };
}

const weights = (s: PoolState | undefined) => Object.fromEntries(Object.entries(s?.servers ?? {}).map(([h, v]) => [h, v.weight]));

t.test('a watching reader sees only whole published states, through split and inline publications', async (t) => {
  const kv = await openKv({ endpoints: etcd.endpoints }, 'etcd3') as Etcd3Kv;
  t.teardown(() => kv.close());
  const rec = recordingKv(kv);
  const svc = def('big', 200);
  const hosts = Object.keys(svc.servers);
  const { leader, published, set } = leaderOver(rec.kv, [svc]);
  t.teardown(() => leader.deactivate());

  // The reader: list, then watch, through the assembler, as the daemon and the agent read.
  const assembler = new StateAssembler(keys);
  const seen: PoolState[] = [];
  const problems: string[] = [];
  const take = () => {
    for (const c of assembler.take()) {
      if (c.kind !== 'state') continue;
      try {
        seen.push(decodeAssembledState(c.state));
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  };
  const watch = await listThenWatch(kv, keys.statePrefix(), {
    onList: (entries) => { assembler.reset(); for (const e of entries) assembler.put(e.key, e.value, e.modRevision); take(); },
    onEvents: (events) => { for (const e of events) { if (e.type === 'put') assembler.put(e.key, e.value, e.modRevision); else assembler.remove(e.key, e.modRevision); } take(); },
    onError: (err) => problems.push(err.message),
  });
  t.teardown(() => watch.stop());

  leader.activate();
  const serverKeys = async () => (await kv.range({ key: `${keys.state(svc)}/`, prefix: true, limit: 1 })).count;
  await waitFor('every server key written', serverKeys, (n) => n === 200, 20_000);
  const first = rec.txns.find((r) => r.success.some((o) => o.key === keys.state(svc)))!;
  t.ok((first.success[0] as { value: string }).value.includes('"servers":{'), 'the first publication is inline (nothing known of the server keys)');

  // Single-host changes, then 150 hosts at once, then single changes again; weights 1..N so every
  // publication differs.
  let w = 11;
  for (let i = 0; i < 20; i++) {
    set(svc, hosts[i % hosts.length]!, w++);
    await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor('the single changes', () => publishedState(kv, 'eqiad/big'), (s) => s?.servers[hosts[19]!]?.weight === w - 1, 10_000);
  const splitTxns = rec.txns.filter((r) => r.success.at(-1)?.key === keys.state(svc) && !(r.success.at(-1) as { value: string }).value.includes('"servers":{'));
  t.ok(splitTxns.length > 0, `single-host changes are published in the split form (${splitTxns.length} times)`);
  t.ok(splitTxns.every((r) => r.success.length <= 1 + 20), 'each with only the changed server keys');
  const before = rec.txns.length;
  for (const h of hosts.slice(0, 150)) set(svc, h, 99);
  await waitFor('the mass change', () => publishedState(kv, 'eqiad/big'), (s) => Object.values(s?.servers ?? {}).filter((v) => v.weight === 99).length === 150, 10_000);
  const mass = rec.txns.slice(before).find((r) => r.success.some((o) => o.key === keys.state(svc)))!;
  t.equal(mass.success.length, 1, 'a change of 150 server keys does not fit beside the header: the inline form alone');
  t.ok(rec.txns.slice(before).every((r) => r.success.length <= ETCD_MAX_TXN_OPS), 'every transaction within etcd\'s op limit');
  // Converged afterwards: the next single change is split again.
  await waitFor('server keys converged', async () => (await kv.range({ key: `${keys.state(svc)}/`, prefix: true })).kvs.filter((e) => (JSON.parse(e.value) as { weight: number }).weight === 99).length, (n) => n === 150, 10_000);
  const afterMass = rec.txns.length;
  set(svc, hosts[199]!, 7);
  await waitFor('the last change', () => publishedState(kv, 'eqiad/big'), (s) => s?.servers[hosts[199]!]?.weight === 7, 10_000);
  const last = rec.txns.slice(afterMass).find((r) => r.success.some((o) => o.key === keys.state(svc)))!;
  t.same(last.success.map((o) => o.key), [keys.stateServer(svc, hosts[199]!), keys.state(svc)], 'after convergence, split again');

  await waitFor('the reader catches up', async () => seen.at(-1), (s) => s?.servers[hosts[199]!]?.weight === 7, 10_000);
  t.same(problems, [], 'the reader never saw a state that did not decode');
  const byRevision = new Map(published.map((s) => [s.revision, weights(s)]));
  const unknown = seen.filter((s) => JSON.stringify(byRevision.get(s.revision)) !== JSON.stringify(weights(s)));
  t.equal(unknown.length, 0, `every state the reader saw (${seen.length}) is one the leader published`);
  t.ok(seen.every((s, i) => i === 0 || s.revision > seen[i - 1]!.revision), 'in order');
  t.same(weights(seen.at(-1)), weights(published.at(-1)), 'and it ends on the last one');
  t.same(weights(await publishedState(kv, 'eqiad/big')), weights(published.at(-1)), 'as a fresh read does');
});

t.test('one service read by its range; a removed service leaves no key', async (t) => {
  const kv = await openKv({ endpoints: etcd.endpoints }, 'etcd3') as Etcd3Kv;
  t.teardown(() => kv.close());
  // `ab` and `ab-c`: the second's keys sort inside the first's range.
  const a = def('ab', 3);
  const b = def('ab-c', 4);
  const { leader, data } = leaderOver(kv, [a, b]);
  t.teardown(() => leader.deactivate());
  leader.activate();
  await waitFor('both published with their server keys', async () => (await kv.range({ key: `${keys.statePrefix()}eqiad/ab`, prefix: true, limit: 1 })).count, (n) => n === 2 + 3 + 4, 10_000);
  const got = await readAssembledStates(kv, keys, [{ dc: 'eqiad', name: 'ab' }]);
  t.equal(got.length, 1, 'one state for one service');
  t.equal(Object.keys(decodeAssembledState(got[0]!).servers).length, 3, 'with its own 3 servers, none of ab-c\'s');
  t.equal(Object.keys((await publishedState(kv, 'eqiad/ab-c'))!.servers).length, 4);

  data.deleteService(servicePath(b));
  leader.serviceChanged(servicePath(b));
  await waitFor('ab-c gone, header and server keys', async () => (await kv.range({ key: `${keys.state(b)}`, prefix: true, limit: 1 })).count, (n) => n === 0, 10_000);
  t.equal(await publishedState(kv, 'eqiad/ab-c'), undefined);
  t.equal(Object.keys((await publishedState(kv, 'eqiad/ab'))!.servers).length, 3, 'its neighbour is untouched');
});

t.test('a publication whose answer is lost: its server keys are taken as unknown, so a server changed back is right in etcd', async (t) => {
  const kv = await openKv({ endpoints: etcd.endpoints }, 'etcd3') as Etcd3Kv;
  t.teardown(() => kv.close());
  // The transaction commits, then its answer is lost (a connection cut after the commit).
  let loseNext = false;
  const lossy: Kv = {
    user: kv.user, range: (r) => kv.range(r), get: (k) => kv.get(k), close: async () => {},
    txn: async (r) => {
      const result = await kv.txn(r);
      if (loseNext) {
        loseNext = false;
        throw new Error('connection lost after the commit');
      }
      return result;
    },
  };
  const svc = def('lossy', 10);
  const h0 = Object.keys(svc.servers)[0]!;
  const { leader, set } = leaderOver(lossy, [svc]);
  t.teardown(() => leader.deactivate());
  leader.activate();
  const serverKeys = async () => (await kv.range({ key: `${keys.state(svc)}/`, prefix: true, limit: 1 })).count;
  await waitFor('every server key written', serverKeys, (n) => n === 10, 10_000);
  set(svc, h0, 11);
  await waitFor('a first change', () => publishedState(kv, 'eqiad/lossy'), (s) => s?.servers[h0]?.weight === 11, 10_000);

  loseNext = true;
  set(svc, h0, 50);
  await waitFor('the change committed (its answer lost)', async () => (await kv.get(keys.stateServer(svc, h0)))?.value ?? '', (v) => v.includes('"weight":50'), 10_000);
  // Back to what the leader last knew committed, before its retry.
  set(svc, h0, 11);
  await waitFor('etcd holds the value the leader means', () => publishedState(kv, 'eqiad/lossy'), (s) => s?.servers[h0]?.weight === 11, 10_000);
  // The republication is inline first (its server keys unknown), then converges them in later
  // transactions: the server key may be briefly absent, but must end at 11, never stay at 50.
  const converged = await waitFor('the server key converged', async () => (await kv.get(keys.stateServer(svc, h0)))?.value ?? '', (v) => v !== '' && !v.includes('"weight":50'), 10_000);
  t.match(converged, /"weight":11/, "the server key itself, not only an inline header, says so once converged");
});
