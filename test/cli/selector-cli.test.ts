// poolctl against a real etcd, the conftool way (issue 13): global options before the verb,
// conftool's selector reading (ungrouped alternation, Python syntax) with its note in --dry-run,
// and --yes accepted by every writing verb, sync included.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';

const pools = (dc: string, hosts: string[]) => `dc: ${dc}
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: 8080 }
    depool_threshold: 0.1
    checks: [{ kind: tcp }]
    servers:
${hosts.map((h, i) => `      ${h}: { weight: 10, address: 127.0.9.${i + 1} }`).join('\n')}
`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const dir = mkdtempSync(join(tmpdir(), 'poold-sel-'));
writeFileSync(join(dir, 'eqiad.yaml'), pools('eqiad', ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet', 'sca1003.eqiad.wmnet']));
writeFileSync(join(dir, 'codfw.yaml'), pools('codfw', ['sca2001.codfw.wmnet', 'sca2002.codfw.wmnet']));
// No POOLD_ETCD: every command names etcd with the global --etcd option.
const ETCD = ['--etcd', etcd.clientUrl];
const revision = async () => (await kv.range({ key: '/', prefix: true, limit: 1 })).revision;
const pooled = async (svc: string, host: string) => (JSON.parse((await kv.get(`/conftool/v1/pools/${svc}/${host}`))!.value) as { pooled: string }).pooled;

t.test('sync takes --yes, and global options before the verb', async (t) => {
  const r = await runPoolctl([...ETCD, 'sync', dir, '--yes', '--reason', 'initial']);
  t.equal(r.code, 0, r.stderr);
  t.equal(await pooled('eqiad/sca/cxserver', 'sca1001.eqiad.wmnet'), 'yes');
  const after = await runPoolctl(['sync', dir, '--yes', ...ETCD]);
  t.equal(after.code, 0, 'global options after the verb work too');
  t.match(after.stdout, /in sync/);
});

t.test('the issue\'s selector picks what confctl picks, and --dry-run says why', async (t) => {
  const before = await revision();
  const r = await runPoolctl([...ETCD, 'select', 'name=sca1001|sca2001.*', 'depool', '--dry-run', '--yes']);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), [
    '(dry run) codfw/sca/cxserver sca2001.codfw.wmnet: pooled yes -> no',
    '(dry run) eqiad/sca/cxserver sca1001.eqiad.wmnet: pooled yes -> no',
  ]);
  t.match(r.stderr, /note: conftool anchors name=sca1001\|sca2001\.\* as \^sca1001\|sca2001\.\*\$ \(no group\).*that is \(\^sca1001\)\|\(\^sca2001\.\*\$\)/);
  t.equal(await revision(), before, 'dry run: nothing written');
  const json = await runPoolctl([...ETCD, '--json', 'select', 'name=sca1001|sca2001.*', 'depool', '--dry-run']);
  t.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { notes: string[]; changes: Array<{ host: string }> };
  t.same(report.changes.map((c) => c.host), ['sca2001.codfw.wmnet', 'sca1001.eqiad.wmnet']);
  t.match(report.notes[0], /^note: conftool anchors/);
  const grouped = await runPoolctl([...ETCD, 'select', 'name=(sca1001|sca2001.*)', 'get']);
  t.same(grouped.stdout.trim().split('\n').map((l) => l.split(' ')[1]), ['sca2001.codfw.wmnet:'], 'grouped: sca1001 alone is no full name');
  t.equal(grouped.stderr, '', 'no note when nothing is surprising');
});

t.test("Python's regex syntax works; what Python rejects is a usage error", async (t) => {
  const g = await runPoolctl([...ETCD, '--json', 'select', 'dc=(?P<dc>eqiad),name=(?P<h>sca100)[12]\\..*', 'get']);
  t.equal(g.code, 0, g.stderr);
  t.same((JSON.parse(g.stdout) as Array<{ host: string }>).map((h) => h.host), ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet']);
  const ci = await runPoolctl([...ETCD, 'select', 'name=(?i)SCA2.*', 'get']);
  t.equal(ci.code, 0, ci.stderr);
  t.equal(ci.stdout.trim().split('\n').length, 2);
  const bad = await runPoolctl([...ETCD, 'select', 'name=(sca', 'get']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^poolctl: bad regex for 'name' in selector 'name=\(sca': missing \), unterminated subpattern at position 0/);
  const none = await runPoolctl([...ETCD, 'select', 'name=sca1001', 'depool', '--yes']);
  t.equal(none.code, 1, 'anchored: no host is called exactly sca1001');
  t.match(none.stderr, /matched no host/);
});

t.test('a write with the options before the verb', async (t) => {
  const r = await runPoolctl([...ETCD, 'depool', 'sca1003', '--reason', 'test']);
  t.equal(r.code, 0, r.stderr);
  t.equal(await pooled('eqiad/sca/cxserver', 'sca1003.eqiad.wmnet'), 'no');
  const p = await runPoolctl([...ETCD, '--json', 'pool', 'sca1003']);
  t.equal(p.code, 0, p.stderr);
  t.equal(JSON.parse(p.stdout).changes[0].after.pooled, 'yes');
  const help = await runPoolctl(['depool', '--help']);
  t.match(help.stdout, /--etcd <urls>/, "a verb's help lists the global options");
});
