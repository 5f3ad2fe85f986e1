// Many LVS services over one conftool pool, as at a real site (eqiad: 44 PyBal sections over
// kubernetes/kubesvc). One conftool write reaches every section; each section keeps its own threshold,
// state and /pools; poolctl's guard evaluates every section over the pool and names the ones that break.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { json, lines, poolctl, poolsDir, startDaemon, text, waitFor } from './harness.js';

const HOSTS = Array.from({ length: 20 }, (_, i) => `kube${1001 + i}.eqiad.wmnet`);
const ADDR = HOSTS.map((_, i) => `127.0.72.${i + 1}`);
/** 43 sections at threshold 0.5 and one strict one at 0.9: 44 over one pool. */
const SECTIONS = Array.from({ length: 44 }, (_, i) => ({ name: i === 43 ? 'strict' : `svc${String(i).padStart(2, '0')}`, port: 31000 + i, threshold: i === 43 ? 0.9 : 0.5 }));
const section = (s: { name: string; port: number }) => `${s.name}_${s.port}`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: SECTIONS.flatMap((s) => ADDR.map((address) => ({ address, port: s.port, behaviour: 'ok' as const }))) });
t.teardown(() => sim.stop());

const yaml = [
  'dc: eqiad',
  'pools:',
  '  kubernetes/kubesvc:',
  '    servers:',
  ...HOSTS.map((h, i) => `      ${h}: { weight: 10, address: ${ADDR[i]} }`),
  'services:',
  ...SECTIONS.flatMap((s, i) => [
    `  ${s.name}:`,
    '    pool: kubernetes/kubesvc',
    `    lvs: { ip: 10.2.2.${100 + i}, port: ${s.port} }`,
    `    depool_threshold: ${s.threshold}`,
    '    checks:',
    '      - { kind: tcp, interval: 500ms, timeout: 3s, rise: 1, fall: 1 }',
  ]),
  '',
].join('\n');
const dir = poolsDir({ 'eqiad.yaml': yaml });
const sync = await poolctl(['sync', dir, '--yes'], etcd.clientUrl);
const d = await startDaemon(etcd.endpoints, { observer: 'shared-a' });
t.teardown(() => d.stop());

const UP = 'enabled/up/pooled';
const pooledIn = async (s: { name: string; port: number }) => lines(await text(`${d.url}/pools/${section(s)}`));

t.test('sync writes the pool\'s hosts once and one definition per section', async (t) => {
  t.match(sync.stdout + sync.stderr, /kubernetes\/kubesvc/);
  const r = await runPoolctl(['get', HOSTS[0]], { POOLD_ETCD: etcd.clientUrl });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), `eqiad/kubernetes/kubesvc ${HOSTS[0]}: {"weight":10,"pooled":"yes"}`, 'one conftool key for the host');
});

t.test('all 44 sections are published, each from the shared pool', async (t) => {
  const names = await waitFor('44 sections in /pools', () => text(`${d.url}/pools`), (b) => lines(b).length === 44, 60_000);
  t.same(lines(names), SECTIONS.map(section).sort());
  for (const s of SECTIONS) {
    await waitFor(`${section(s)} all up`, () => pooledIn(s), (l) => l.length === 20 && l.every((x) => x.endsWith(UP)), 60_000);
  }
  const v1 = await json<{ pools: { name: string; cluster: string; service: string }[] }>(`${d.url}/v1/pools`);
  t.equal(v1.pools.length, 44);
  t.ok(v1.pools.every((p) => p.cluster === 'kubernetes' && p.service === 'kubesvc'), 'every section names kubernetes/kubesvc');
});

t.test('poolctl depool of one host leaves all 44 sections', async (t) => {
  const r = await runPoolctl(['depool', HOSTS[0], '--reason', 'shared pool test'], { POOLD_ETCD: etcd.clientUrl });
  t.equal(r.code, 0, r.stderr);
  for (const s of SECTIONS) {
    const l = await waitFor(`${HOSTS[0]} out of ${section(s)}`, () => pooledIn(s), (x) => x.includes(`${HOSTS[0]}:\tdisabled/up/not pooled`), 20_000);
    t.equal(l.filter((x) => x.endsWith(UP)).length, 19, `${section(s)}: 19 still serve`);
  }
});

t.test('the guard evaluates every section over the pool and names the one that would break', async (t) => {
  // 19 serve; depooling two more leaves 17: fine at 0.5 (10 needed), not at 0.9 (18 needed).
  const r = await runPoolctl(['select', `name=kube100[23].*`, 'set/pooled=no', '--yes'], { POOLD_ETCD: etcd.clientUrl });
  t.equal(r.code, 3, 'refused by a safety rule');
  t.match(r.stderr, /LVS service eqiad\/strict_31043 \(pool eqiad\/kubernetes\/kubesvc\)/);
  t.match(r.stderr, /would leave 17 of 20 hosts serving/);
  t.notMatch(r.stderr, /svc\d\d_/, 'sections that keep their threshold are not named');
  const after = await runPoolctl(['get', HOSTS[2]], { POOLD_ETCD: etcd.clientUrl });
  t.match(after.stdout, /"pooled":"yes"/, 'nothing written');
});
