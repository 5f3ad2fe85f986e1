// A depool at Wikimedia's kubesvc shape, bigger: one conftool pool of 500 hosts under 130 LVS
// sections (more than one etcd transaction's 128 reads), the host also in a second pool. poolctl reads
// only the states of the sections over the host's pools, in read-only transactions over gRPC
// (store/get-many.ts, store/grpc-lite.ts), and the threshold guard must still judge EVERY one of them:
// the refusal names each section that would break, in both pools, and nothing else; nothing is written.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { putDef, putJson, putState } from '../lvs/agent-helpers.js';
import { poolState, serviceDef } from '../lvs/lvs-fixtures.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import type { EffectiveServer, ServiceDef } from '../../src/model/types.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const keys = new Keys();

const N = 500;
const hosts = Array.from({ length: N }, (_, i) => `wide${String(1000 + i)}.eqiad.wmnet`);
const H = hosts[7]!;
const SECTIONS = 130;
// Every 10th section (from the 4th), and the last, have half their hosts down: exactly the 250 of 500
// their threshold 0.5 needs, so taking H (up there) out breaks them. The others have every host up.
// Spread over the name order and into the second transaction of reads (132 sections over H's pools),
// so a read that misplaced or dropped states would change the set named.
const tight = (i: number) => i % 10 === 3 || i === SECTIONS - 1;
const name = (i: number) => `wide_${String(i).padStart(3, '0')}`;
const wideDef = (i: number): ServiceDef => ({
  ...serviceDef({ service: 'wide', lvs: { port: 1000 + i }, servers: Object.fromEntries(hosts.map((h) => [h, undefined])) }),
  name: name(i),
});
for (let i = 0; i < SECTIONS; i++) {
  const def = wideDef(i);
  await putDef(kv, def);
  const servers: Record<string, Partial<EffectiveServer>> = {};
  hosts.forEach((h, j) => { servers[h] = tight(i) && j >= N / 2 ? { up: false, pooled: false } : {}; });
  await putState(kv, poolState(def, servers));
}
for (const h of hosts) await putJson(kv, keys.host({ dc: 'eqiad', cluster: 'sca', service: 'wide', host: h }), { weight: 10, pooled: 'yes' });

// H is also in sca/small (3 hosts): "small_tight" (threshold 0.9, one other host down) breaks, "small_ok"
// (threshold 0.3) does not.
const small = [H, 'small1001.eqiad.wmnet', 'small1002.eqiad.wmnet'];
for (const [n, threshold, down] of [['small_tight', 0.9, ['small1002.eqiad.wmnet']], ['small_ok', 0.3, []]] as const) {
  const def = { ...serviceDef({ service: 'small', servers: Object.fromEntries(small.map((h) => [h, undefined])) }), name: n, depoolThreshold: threshold };
  await putDef(kv, def);
  await putState(kv, poolState(def, Object.fromEntries(small.map((h) => [h, (down as readonly string[]).includes(h) ? { up: false, pooled: false } : {}]))));
}
for (const h of small) await putJson(kv, keys.host({ dc: 'eqiad', cluster: 'sca', service: 'small', host: h }), { weight: 10, pooled: 'yes' });

// A section over a pool H is not in, whose state would refuse anything: it must play no part.
const other = { ...serviceDef({ service: 'other', servers: { 'other1001.eqiad.wmnet': undefined } }), name: 'other_down' };
await putDef(kv, other);
await putState(kv, poolState(other, { 'other1001.eqiad.wmnet': { up: false, pooled: false } }));
await putJson(kv, keys.host({ dc: 'eqiad', cluster: 'sca', service: 'other', host: 'other1001.eqiad.wmnet' }), { weight: 10, pooled: 'yes' });

const env = { POOLD_ETCD: etcd.clientUrl };
const expected = [...Array.from({ length: SECTIONS }, (_, i) => i).filter(tight).map(name), 'small_tight'].sort();

t.test('depool of a host in a 500-host pool under 130 sections, and in a second pool: every breaking section named', async (t) => {
  const r = await runPoolctl(['depool', H, '--reason', 'wide test'], env, { timeoutMs: 120_000 });
  t.equal(r.code, 3, `refused (exit 3): ${r.stderr.slice(0, 400)}`);
  const named = [...r.stderr.matchAll(/LVS service eqiad\/(\S+) \(pool /g)].map((m) => m[1]!).sort();
  t.same(named, expected, 'exactly the 14 tight sections over sca/wide and small_tight over sca/small');
  t.match(r.stderr, /would leave 249 of 500 hosts serving in LVS service eqiad\/wide_003 \(pool eqiad\/sca\/wide\); the threshold 0\.5 needs at least 250/);
  t.match(r.stderr, /would leave 1 of 3 hosts serving in LVS service eqiad\/small_tight \(pool eqiad\/sca\/small\)/);
  for (const svc of ['wide', 'small']) {
    const v = await kv.get(keys.host({ dc: 'eqiad', cluster: 'sca', service: svc, host: H }));
    t.same(JSON.parse(v!.value), { weight: 10, pooled: 'yes' }, `nothing written in sca/${svc}`);
  }
});

t.test('the same depool narrowed to the pool whose sections all hold goes through, audited', async (t) => {
  const r = await runPoolctl(['--json', 'depool', H, '--service', 'eqiad/sca/small', '--reason', 'wide test'], env, { timeoutMs: 120_000 });
  t.equal(r.code, 3, 'sca/small still breaks small_tight');
  t.match(r.stderr, /small_tight/);
  t.notMatch(r.stderr, /wide_/, 'the sections over the pool left out are not judged');
  // A host of sca/wide whose sections all hold (the tight ones have it down already: no change in serving).
  const down = hosts[N - 1]!;
  const ok = await runPoolctl(['--json', 'depool', down, '--reason', 'wide test'], env, { timeoutMs: 120_000 });
  t.equal(ok.code, 0, ok.stderr.slice(0, 400));
  const report = JSON.parse(ok.stdout) as { changes: { lvsServices: string[]; changed: boolean }[]; operationId: string };
  t.equal(report.changes.length, 1);
  t.equal(report.changes[0]!.lvsServices.length, SECTIONS, 'one write reaches all 130 sections');
  const audit = await kv.range({ key: keys.auditPrefix(), prefix: true });
  t.ok(audit.kvs.some((e) => e.value.includes(report.operationId) && e.value.includes(down)), 'the write has its audit record');
});
