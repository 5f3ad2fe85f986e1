// poolctl admin verbs against a real etcd: exact conftool values, audit in the same transaction,
// name resolution, safety refusals with their exit codes, and nothing changed when refused.
import t from 'tap';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';

const POOLS = `dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: 8080 }
    depool_threshold: 0.5
    checks: [{ kind: http, path: /_info }]
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.0.9.1 }
      sca1002.eqiad.wmnet: { weight: 10, address: 127.0.9.2 }
      sca1003.eqiad.wmnet: { weight: 10, address: 127.0.9.3 }
      sca1004.eqiad.wmnet: { weight: 10, address: 127.0.9.4 }
  appservers:
    cluster: appserver
    lvs: { ip: 10.2.2.1, port: 80 }
    depool_threshold: 0.1
    checks: [{ kind: tcp }]
    servers:
      mw1.eqiad.wmnet: { weight: 5, address: 127.0.9.5 }
      mw2.eqiad.wmnet: { weight: 5, address: 127.0.9.6 }
`;
const POOLS_CODFW = `dc: codfw
services:
  appservers:
    cluster: appserver
    lvs: { ip: 10.2.1.1, port: 80 }
    checks: [{ kind: tcp }]
    servers:
      mw1.codfw.wmnet: { weight: 5, address: 127.0.9.7 }
`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const env = { POOLD_ETCD: etcd.clientUrl };
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const dir = mkdtempSync(join(tmpdir(), 'poold-pools-'));
writeFileSync(join(dir, 'eqiad.yaml'), POOLS);
writeFileSync(join(dir, 'codfw.yaml'), POOLS_CODFW);

const hostKey = (h: string, svc = 'eqiad/sca/cxserver') => `/conftool/v1/pools/${svc}/${h}`;
async function value(key: string): Promise<string | undefined> {
  return (await kv.get(key))?.value;
}
async function revision(): Promise<number> {
  return (await kv.range({ key: '/', prefix: true, limit: 1 })).revision;
}

t.test('sync creates services and hosts with conftool values', async (t) => {
  const r = await runPoolctl(['sync', dir, '--reason', 'initial'], env);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /\+ service eqiad\/cxserver_8080\n/);
  t.match(r.stdout, /\+ eqiad\/sca\/cxserver\/sca1001\.eqiad\.wmnet \{"weight":10,"pooled":"yes"\}/);
  t.equal(await value(hostKey('sca1001.eqiad.wmnet')), '{"weight": 10, "pooled": "yes"}');
  const def = JSON.parse((await value('/poold/v1/services/eqiad/cxserver_8080')) ?? '{}');
  t.equal(def.depoolThreshold, 0.5);
  const again = await runPoolctl(['sync', dir], env);
  t.match(again.stdout, /in sync: nothing to change/);
});

t.test('depool writes the exact conftool JSON and its audit record in the same revision', async (t) => {
  const r = await runPoolctl(['depool', 'sca1001', '--reason', 'deploy'], { ...env, SUDO_USER: 'alice' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /eqiad\/sca\/cxserver sca1001\.eqiad\.wmnet: pooled yes -> no/);
  const entry = await kv.get(hostKey('sca1001.eqiad.wmnet'));
  t.equal(entry?.value, '{"weight": 10, "pooled": "no"}');
  const audit = await kv.range({ key: '/poold/v1/audit/', prefix: true, order: 'descend', limit: 1 });
  const rec = JSON.parse(audit.kvs[0].value);
  t.equal(audit.kvs[0].modRevision, entry?.modRevision, 'audit record written in the same transaction');
  t.match(rec, { actor: 'alice', reason: 'deploy', key: hostKey('sca1001.eqiad.wmnet'), before: { pooled: 'yes', weight: 10 }, after: { pooled: 'no', weight: 10 } });
});

t.test('pool and weight write exact values; audit lists them', async (t) => {
  t.equal((await runPoolctl(['pool', 'sca1001.eqiad.wmnet'], env)).code, 0);
  t.equal(await value(hostKey('sca1001.eqiad.wmnet')), '{"weight": 10, "pooled": "yes"}');
  const w = await runPoolctl(['weight', 'sca1002', '7', '--reason', 'smaller box'], env);
  t.equal(w.code, 0, w.stderr);
  t.equal(await value(hostKey('sca1002.eqiad.wmnet')), '{"weight": 7, "pooled": "yes"}');
  const a = await runPoolctl(['audit', '--host', 'sca1002', '--json'], env);
  const recs = JSON.parse(a.stdout);
  t.equal(recs[0].reason, 'smaller box');
  t.same(recs[0].after, { pooled: 'yes', weight: 7 });
});

t.test('unknown fields written by other tools survive a depool', async (t) => {
  await kv.txn({ compare: [], success: [{ type: 'put', key: hostKey('sca1003.eqiad.wmnet'), value: '{"pooled": "yes", "weight": 10, "owner": "traffic"}' }] });
  t.equal((await runPoolctl(['drain', 'sca1003'], env)).code, 0);
  t.same(JSON.parse((await value(hostKey('sca1003.eqiad.wmnet'))) ?? ''), { pooled: 'yes', weight: 0, owner: 'traffic' });
  t.equal((await runPoolctl(['weight', 'sca1003', '10'], env)).code, 0);
});

t.test('safety refusals exit with the right code and change nothing', async (t) => {
  const before = await revision();
  const none = await runPoolctl(['depool', 'sca9999'], env);
  t.equal(none.code, 1);
  t.match(none.stderr, /no host 'sca9999'/);
  const amb = await runPoolctl(['depool', 'mw1'], env);
  t.equal(amb.code, 1);
  t.match(amb.stderr, /ambiguous.*mw1\.codfw\.wmnet, mw1\.eqiad\.wmnet/);
  const many = await runPoolctl(['select', 'dc=eqiad,service=appservers', 'weight', '4'], env);
  t.equal(many.code, 3, 'several objects without --yes');
  t.match(many.stderr, /without --yes/);
  const nomatch = await runPoolctl(['select', 'name=nothing.*', 'depool'], env);
  t.equal(nomatch.code, 1);
  t.match(nomatch.stderr, /matched no host/);
  const usage = await runPoolctl(['weight', 'sca1001', '-3'], env);
  t.equal(usage.code, 2);
  const badsel = await runPoolctl(['select', 'host=x', 'get'], env);
  t.equal(badsel.code, 2);
  t.match(badsel.stderr, /unknown selector tag 'host'/);
  t.equal(await revision(), before, 'etcd untouched');
});

t.test('threshold guard: refuses a depool below ceil(total x threshold), --force overrides', async (t) => {
  // 4 hosts at 0.5: two may go, the third would leave 1 < 2.
  t.equal((await runPoolctl(['depool', 'sca1001'], env)).code, 0);
  t.equal((await runPoolctl(['depool', 'sca1002'], env)).code, 0);
  const before = await revision();
  const r = await runPoolctl(['depool', 'sca1003'], env);
  t.equal(r.code, 3);
  t.match(r.stderr, /leave 1 of 4 hosts .* needs at least 2.*--force/s);
  t.equal(await revision(), before, 'refused: nothing written');
  const dry = await runPoolctl(['depool', 'sca1003', '--force', '--dry-run'], env);
  t.equal(dry.code, 0);
  t.match(dry.stdout, /\(dry run\)/);
  t.equal(await revision(), before, 'dry run: nothing written');
  const f = await runPoolctl(['depool', 'sca1003', '--force'], env);
  t.equal(f.code, 0);
  t.match(f.stderr, /--force: going ahead although depooling sca1003.eqiad.wmnet would leave 1 of 4/);
  for (const h of ['sca1001', 'sca1002', 'sca1003']) t.equal((await runPoolctl(['pool', h], env)).code, 0);
});

t.test('select with --yes acts on every match, and get shows them', async (t) => {
  const r = await runPoolctl(['select', 'dc=eqiad,service=appservers', 'set/weight=3', '--yes', '--json'], env);
  t.equal(r.code, 0, r.stderr);
  t.equal(JSON.parse(r.stdout).changes.length, 2);
  const g = await runPoolctl(['select', 'service=appservers', 'get', '--json'], env);
  t.same(JSON.parse(g.stdout).map((h: { host: string; value: { weight: number } }) => [h.host, h.value.weight]),
    [['mw1.codfw.wmnet', 5], ['mw1.eqiad.wmnet', 3], ['mw2.eqiad.wmnet', 3]]);
});

t.test('sync keeps operator changes and refuses removals when a file is broken', async (t) => {
  t.equal((await runPoolctl(['depool', 'sca1004'], env)).code, 0);
  // The file drops sca1004 but another file is broken: nothing may be written.
  const broken = mkdtempSync(join(tmpdir(), 'poold-pools-'));
  writeFileSync(join(broken, 'eqiad.yaml'), POOLS.replace(/ {6}sca1004.*\n/, ''));
  writeFileSync(join(broken, 'codfw.yaml'), 'dc: codfw\nservices:\n  appservers: [oops\n');
  const before = await revision();
  const r = await runPoolctl(['sync', broken], env);
  t.equal(r.code, 1);
  t.match(r.stderr, /codfw\.yaml:\d+:\d+: /);
  t.match(r.stderr, /nothing was written/);
  t.equal(await revision(), before);
  // With the same files fixed, sync removes sca1004 and keeps operators' values elsewhere.
  writeFileSync(join(broken, 'codfw.yaml'), POOLS_CODFW);
  const dry = await runPoolctl(['sync', broken, '--dry-run'], env);
  t.match(dry.stdout, /- eqiad\/sca\/cxserver\/sca1004\.eqiad\.wmnet/);
  t.match(dry.stdout, /weight 3 in etcd kept/);
  t.equal(await revision(), before, 'dry run wrote nothing');
  const ok = await runPoolctl(['sync', broken], env);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(await value(hostKey('sca1004.eqiad.wmnet')), undefined);
  t.equal(await value(hostKey('mw1.eqiad.wmnet', 'eqiad/appserver/appservers')), '{"weight": 3, "pooled": "yes"}');
});

t.test('bad pools input: precise file:line:col and etcd untouched', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['malformed', 'dc: eqiad\nservices:\n  x: {a: [1, 2}\n', /bad\.yaml:3:\d+: /],
    ['unknown key', POOLS.replace('    depool_threshold: 0.5\n', '    depool_treshold: 0.5\n'), /bad\.yaml:6:5: .*depool_treshold/],
    ['negative weight', POOLS.replace('sca1002.eqiad.wmnet: { weight: 10', 'sca1002.eqiad.wmnet: { weight: -1'), /bad\.yaml:10:38: weight must be a whole number from 0 to 65535 \(got -1\)/],
    ['threshold', POOLS.replace('depool_threshold: 0.5', 'depool_threshold: 1.5'), /bad\.yaml:6:\d+: .*threshold|bad\.yaml:6:\d+: .*1/],
    ['duration', POOLS.replace('{ kind: http, path: /_info }', '{ kind: http, path: /_info, timeout: 5 seconds }'), /bad\.yaml:7:\d+: .*timeout/],
  ];
  for (const [name, text, re] of cases) {
    const d = mkdtempSync(join(tmpdir(), 'poold-bad-'));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'bad.yaml'), text);
    const before = await revision();
    const r = await runPoolctl(['sync', d], env);
    t.equal(r.code, 1, name);
    t.match(r.stderr, re, name);
    t.equal(await revision(), before, `${name}: etcd untouched`);
  }
});
