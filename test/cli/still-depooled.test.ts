// `poolctl pool HOST` names the host's other pools where it is still depooled, with when and by whom
// (issue 14, item 7): a script that depools every pool of a host and repools one shows at once.
// Real etcd, the real poolctl.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';

// sca1001 is in three conftool pools of eqiad (a host serving several services, as kubernetes
// workers do at Wikimedia); each pool feeds one LVS service.
const POOLS = `dc: eqiad
pools:
  sca/cxserver:
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.0.9.1 }
      sca1002.eqiad.wmnet: { weight: 10, address: 127.0.9.2 }
  kubernetes/other:
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.0.9.1 }
      sca1002.eqiad.wmnet: { weight: 10, address: 127.0.9.2 }
  kubernetes/third:
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.0.9.1 }
      sca1002.eqiad.wmnet: { weight: 10, address: 127.0.9.2 }
services:
  cxserver:
    pool: sca/cxserver
    lvs: { ip: 10.2.2.18, port: 8080 }
    depool_threshold: 0.1
    checks: [{ kind: tcp }]
  other:
    pool: kubernetes/other
    lvs: { ip: 10.2.2.19, port: 8081 }
    depool_threshold: 0.1
    checks: [{ kind: tcp }]
  third:
    pool: kubernetes/third
    lvs: { ip: 10.2.2.20, port: 8082 }
    depool_threshold: 0.1
    checks: [{ kind: tcp }]
`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const env = { POOLD_ETCD: etcd.clientUrl };
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const dir = mkdtempSync(join(tmpdir(), 'poold-still-depooled-'));
writeFileSync(join(dir, 'eqiad.yaml'), POOLS);
const key = (pool: string) => `/conftool/v1/pools/eqiad/${pool}/sca1001.eqiad.wmnet`;

interface Still { key: string; host: string; pool: string; since: string | null; by: string | null; reason: string | null }

t.test('setup: sync, then a script depools sca1001 everywhere', async (t) => {
  t.equal((await runPoolctl(['sync', dir], env)).code, 0);
  const d = await runPoolctl(['depool', 'sca1001', '--reason', 'reimage T42', '--yes'], { ...env, SUDO_USER: 'alice' });
  t.equal(d.code, 0, d.stderr);
  for (const p of ['sca/cxserver', 'kubernetes/other', 'kubernetes/third']) t.match((await kv.get(key(p)))?.value, /"pooled": "no"/);
  t.notMatch(d.stderr, /still depooled/, 'depool says nothing of the kind');
});

t.test('pool in one pool names the two where the host is still depooled, with when, who and why', async (t) => {
  const before = Date.now() - 60_000;
  const r = await runPoolctl(['pool', 'sca1001', '--service', 'eqiad/sca/cxserver'], { ...env, SUDO_USER: 'bob' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /eqiad\/sca\/cxserver sca1001\.eqiad\.wmnet: pooled no -> yes/);
  t.match((await kv.get(key('sca/cxserver')))?.value, /"pooled": "yes"/, 'the write itself happened');
  const notes = r.stderr.split('\n').filter((l) => l.startsWith('note: '));
  t.equal(notes.length, 2, r.stderr);
  t.match(notes[0], /^note: sca1001\.eqiad\.wmnet is still depooled in eqiad\/kubernetes\/other \(since \d{4}-\d\d-\d\dT[\d:.]+Z, by alice: reimage T42\)$/);
  t.match(notes[1], /^note: sca1001\.eqiad\.wmnet is still depooled in eqiad\/kubernetes\/third \(since .*, by alice: reimage T42\)$/);

  const j = await runPoolctl(['pool', 'sca1001', '--service', 'eqiad/sca/cxserver', '--json'], env);
  t.equal(j.code, 0, j.stderr);
  const out = JSON.parse(j.stdout) as { stillDepooled: Still[]; changes: { changed: boolean }[] };
  t.equal(out.changes[0].changed, false, 'already pooled there: a no-op write');
  t.same(out.stillDepooled.map((s) => [s.pool, s.by, s.reason]), [['eqiad/kubernetes/other', 'alice', 'reimage T42'], ['eqiad/kubernetes/third', 'alice', 'reimage T42']]);
  for (const s of out.stillDepooled) {
    t.ok(s.since !== null && Date.parse(s.since) > before && Date.parse(s.since) <= Date.now(), `since is the depool's time: ${s.since}`);
    t.equal(s.key, key(s.pool.replace(/^eqiad\//, '')));
  }
});

t.test('a weight change while depooled does not hide who depooled', async (t) => {
  t.equal((await runPoolctl(['weight', 'sca1001', '5', '--service', 'eqiad/kubernetes/other'], { ...env, SUDO_USER: 'carol' })).code, 0);
  const j = await runPoolctl(['pool', 'sca1001', '--service', 'eqiad/sca/cxserver', '--json'], env);
  const out = JSON.parse(j.stdout) as { stillDepooled: Still[] };
  t.same(out.stillDepooled.find((s) => s.pool === 'eqiad/kubernetes/other')?.by, 'alice');
});

t.test('a depool written without an audit record (another tool) is still named, author unknown', async (t) => {
  // Repool third with poolctl, then depool it behind poolctl's back, as a tool without audit would.
  t.equal((await runPoolctl(['pool', 'sca1001', '--service', 'eqiad/kubernetes/third'], env)).code, 0);
  await kv.txn({ compare: [], success: [{ type: 'put', key: key('kubernetes/third'), value: '{"weight": 10, "pooled": "no"}' }] });
  const r = await runPoolctl(['pool', 'sca1001', '--service', 'eqiad/sca/cxserver'], env);
  t.match(r.stderr, /note: sca1001\.eqiad\.wmnet is still depooled in eqiad\/kubernetes\/third \(no audit record of the depool in the last \d+ records; value at revision \d+\)/);
  t.match(r.stderr, /still depooled in eqiad\/kubernetes\/other \(since .*, by alice/);
});

t.test('pool everywhere: no note; a host pooled elsewhere: no note', async (t) => {
  const r = await runPoolctl(['pool', 'sca1001', '--yes', '--json'], env);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /still depooled/);
  t.same((JSON.parse(r.stdout) as { stillDepooled: Still[] }).stillDepooled, []);
  const one = await runPoolctl(['pool', 'sca1002', '--service', 'eqiad/sca/cxserver'], env);
  t.notMatch(one.stderr, /still depooled/);
});
