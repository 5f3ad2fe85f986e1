// poolctl on pools bigger than one etcd transaction, against etcd with its DEFAULT limits (before,
// `poolctl sync` of a 64-host pool failed with "too many operations in txn request"): sync and
// select over 500 hosts write them all, every audit record of one command carrying its operation
// id; a command refused part-way by etcd says exactly which hosts changed and which did not, exits
// 1, and the same command again completes it.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addPrefixUser, enableAuth, startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';

const hosts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}.eqiad.wmnet`);
function poolsYaml(services: Record<string, string[]>): string {
  return `dc: eqiad\nservices:\n${Object.entries(services).map(([name, hs], i) => `  ${name}:
    cluster: sca
    lvs: { ip: 10.2.3.${i + 1}, port: 80 }
    depool_threshold: 0.5
    checks: [{ kind: tcp }]
    servers:
${hs.map((h) => `      ${h}: { weight: 10 }`).join('\n')}
`).join('')}`;
}
const dirWith = (yaml: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'poold-big-'));
  writeFileSync(join(dir, 'eqiad.yaml'), yaml);
  return dir;
};
const BIG = hosts('h', 500);
const hostKey = (svc: string, h: string) => `/conftool/v1/pools/eqiad/sca/${svc}/${h}`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const env = { POOLD_ETCD: etcd.clientUrl };
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const weights = async (svc: string, hs: string[]) => {
  const r = await kv.range({ key: `/conftool/v1/pools/eqiad/sca/${svc}/`, prefix: true });
  const m = new Map(r.kvs.map((e) => [e.key, (JSON.parse(e.value) as { weight: number }).weight]));
  return hs.map((h) => m.get(hostKey(svc, h)));
};
const auditOf = async (op: string, e: Record<string, string> = env) => {
  const r = await runPoolctl(['audit', '--op', op, '--limit', '5000', '--json'], e);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { key: string; op: string }[];
};

t.test('sync creates a 500-host pool (and a 64-host one), one operation id on every record', async (t) => {
  const r = await runPoolctl(['sync', dirWith(poolsYaml({ big: BIG, sixtyfour: hosts('s', 64) })), '--json'], env);
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { operationId: string; written: { what: string }[] };
  // One step per conftool pool (its hosts), then the LVS service definitions.
  t.same(report.written.map((w) => w.what).sort(), ['definitions', 'eqiad/sca/big', 'eqiad/sca/sixtyfour']);
  t.ok((await weights('big', BIG)).every((w) => w === 10), 'all 500 hosts created');
  t.ok((await weights('sixtyfour', hosts('s', 64))).every((w) => w === 10), 'all 64 hosts created');
  t.ok((await kv.get('/poold/v1/services/eqiad/big_80')) !== undefined, 'definition written');
  const recs = await auditOf(report.operationId);
  t.equal(recs.length, 500 + 64 + 2 + 2, 'one record per host, per pool\'s server list and per definition, all under the sync\'s operation id');
  // The servers are stored once, in the pool's list; the definition names the pool.
  t.equal(Object.keys((JSON.parse((await kv.get('/poold/v1/services/~pools/eqiad/sca/big'))!.value) as { servers: object }).servers).length, 500, 'the pool\'s list: 500 servers');
  t.notOk('servers' in (JSON.parse((await kv.get('/poold/v1/services/eqiad/big_80'))!.value) as object), 'the definition carries no list');
});

t.test('select over all 500 hosts writes them all; a threshold refusal names a few hosts, then counts', async (t) => {
  const r = await runPoolctl(['select', 'service=big,name=.*', 'set/weight=5', '--yes', '--json'], env);
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { operationId: string; changes: { changed: boolean }[] };
  t.equal(report.changes.filter((c) => c.changed).length, 500);
  t.ok((await weights('big', BIG)).every((w) => w === 5), 'all 500 written');
  const recs = await auditOf(report.operationId);
  t.equal(recs.length, 500);
  t.ok(recs.every((x) => x.op === report.operationId));

  const refused = await runPoolctl(['select', 'service=big,name=.*', 'depool', '--yes'], env);
  t.equal(refused.code, 3);
  t.match(refused.stderr, /refusing: depooling h0000\.eqiad\.wmnet, h0001\.eqiad\.wmnet, h0002\.eqiad\.wmnet and 497 more would leave 0 of 500/);
  t.ok(refused.stderr.length < 600, `a short refusal (${refused.stderr.length} chars)`);
});

t.test('refused part-way by etcd: exactly what changed and what did not, exit 1; the same command again completes it', async (t) => {
  const authEtcd = await startEtcd();
  t.teardown(() => authEtcd.stop());
  const aenv = { POOLD_ETCD: authEtcd.clientUrl };
  const rootEnv = { ...aenv, POOLD_ETCD_USER: 'root', POOLD_ETCD_PASSWORD: 'root-test-pw' };
  const small = hosts('h', 300);
  t.equal((await runPoolctl(['sync', dirWith(poolsYaml({ big: BIG }))], aenv)).code, 0);
  await enableAuth(authEtcd, 'root-test-pw');
  const pool = '/conftool/v1/pools/eqiad/sca/';
  // "ops" may change hosts h00xx-h02xx of big (the first 300) and sync may create hosts h00xx-h01xx of big2.
  await addPrefixUser(authEtcd, 'ops', 'ops-pw', [
    { prefix: '/', perm: 'read' },
    ...['h00', 'h01', 'h02'].map((p) => ({ prefix: `${pool}big/${p}`, perm: 'readwrite' as const })),
    ...['h00', 'h01'].map((p) => ({ prefix: `${pool}big2/${p}`, perm: 'readwrite' as const })),
    { prefix: '/poold/v1/services/', perm: 'readwrite' },
    { prefix: '/poold/v1/audit/', perm: 'readwrite' },
  ]);
  const opsEnv = { ...aenv, POOLD_ETCD_USER: 'ops', POOLD_ETCD_PASSWORD: 'ops-pw' };
  const akv = new GatewayKv({ endpoints: authEtcd.endpoints, user: 'root', password: 'root-test-pw' });
  t.teardown(() => akv.close());
  const aweights = async () => {
    const r = await akv.range({ key: `${pool}big/`, prefix: true });
    const m = new Map(r.kvs.map((e) => [e.key, (JSON.parse(e.value) as { weight: number }).weight]));
    return BIG.map((h) => m.get(hostKey('big', h)));
  };

  // Human output: counts and a few names, on stderr; exit 1.
  const human = await runPoolctl(['select', 'service=big,name=.*', 'set/weight=7', '--yes'], opsEnv);
  t.equal(human.code, 1, human.stderr);
  t.match(human.stderr, /poolctl: partly done: permission denied: etcd user "ops" may not write one of/);
  t.match(human.stderr, /done \(256\): eqiad\/sca\/big h0000\.eqiad\.wmnet, eqiad\/sca\/big h0001\.eqiad\.wmnet, eqiad\/sca\/big h0002\.eqiad\.wmnet and 253 more/);
  t.match(human.stderr, /not done \(244\): eqiad\/sca\/big h0256\.eqiad\.wmnet, .* and 241 more/);
  t.match(human.stderr, /operation \d{8}T\d{6}Z-[0-9a-f]{8}: the same command again completes it; 'poolctl audit --op \S+' lists what it changed/);
  t.ok(human.stderr.length < 1200, `compact (${human.stderr.length} chars)`);
  const w1 = await aweights();
  t.ok(w1.slice(0, 256).every((w) => w === 7) && w1.slice(256).every((w) => w === 10), 'etcd agrees: exactly the first 256 changed');

  // --json: every key, on stdout.
  const json = await runPoolctl(['select', 'service=big,name=.*', 'set/weight=8', '--yes', '--json'], opsEnv);
  t.equal(json.code, 1);
  const out = JSON.parse(json.stdout) as { error: string; operationId: string; done: string[]; notDone: string[]; message: string };
  t.equal(out.error, 'partial');
  t.same(out.done, BIG.slice(0, 256).map((h) => hostKey('big', h)), 'done: every key, exactly');
  t.same(out.notDone, BIG.slice(256).map((h) => hostKey('big', h)), 'not done: every key, exactly');
  t.match(out.message, /permission denied/);
  const recs = await auditOf(out.operationId, rootEnv);
  t.same(recs.map((x) => x.key).sort(), out.done, 'the operation\'s audit records are exactly the done keys');

  // Again, with rights to all: completes, writing only what was left.
  const again = await runPoolctl(['select', 'service=big,name=.*', 'set/weight=8', '--yes', '--json'], rootEnv);
  t.equal(again.code, 0, again.stderr);
  const rep = JSON.parse(again.stdout) as { changes: { changed: boolean }[]; operationId: string };
  t.equal(rep.changes.filter((c) => c.changed).length, 244, 'only the 244 not done are written');
  t.ok((await aweights()).every((w) => w === 8), 'all 500 done');
  t.equal((await auditOf(rep.operationId, rootEnv)).length, 244);

  // sync too: a new 300-host service, of which "ops" may create only the first 200.
  const dir2 = dirWith(poolsYaml({ big: BIG, big2: small }));
  const s1 = await runPoolctl(['sync', dir2, '--json'], opsEnv);
  t.equal(s1.code, 1, s1.stderr);
  const p = JSON.parse(s1.stdout) as { done: string[]; notDone: string[] };
  t.same(p.done, small.slice(0, 192).map((h) => hostKey('big2', h)), 'sync: three chunks of 64 hosts landed');
  t.same(p.notDone, [...small.slice(192).map((h) => hostKey('big2', h)), '/poold/v1/services/~pools/eqiad/sca/big2', '/poold/v1/services/eqiad/big2_80'], 'sync: the rest, the pool\'s list after its hosts, definition last');
  t.match(s1.stderr, /done \(192\): .* and 189 more/);
  const s2 = await runPoolctl(['sync', dir2], rootEnv);
  t.equal(s2.code, 0, s2.stderr);
  t.equal((await akv.range({ key: `${pool}big2/`, prefix: true, limit: 1 })).count, 300, 'sync again: all 300');
  t.ok((await akv.get('/poold/v1/services/eqiad/big2_80')) !== undefined, 'and the definition');
});
