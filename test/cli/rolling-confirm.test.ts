// Rolling operations need every confirmer (issue 14, item 6): two real LVS agents (`poolctl lvs
// agent` processes on the ipvsadm stand-in) and a real poold must confirm each depool and repool.
// An agent frozen (SIGSTOP) before the operation stops it at the first host with nothing changed;
// an agent frozen during it stops it at the host in progress; either way the later hosts keep their
// etcd values at the same mod revision, the exit code is 1, and the output names the host, the
// step and the agent that did not confirm.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { startEtcd } from '../helpers/etcd.js';
import { POOLCTL, runPoolctl } from '../helpers/poolctl.js';
import { fakeIpvsadm, type FakeIpvsadm } from '../lvs/fake-ipvsadm-helper.js';
import { json, poolctl, poolsDir, serviceYaml, startDaemon, waitFor } from '../daemon/harness.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';

const PORT = 8086;
const A = [1, 2, 3, 4].map((n) => `127.0.66.${n}`);
const H = [1, 2, 3, 4].map((n) => `rc100${n}.eqiad.wmnet`);
const SECTION = `eqiad/rcsvc_${PORT}`;
const POOL = 'eqiad/rcc/rcsvc';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({ 'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'rcsvc', cluster: 'rcc', ip: '10.9.66.1', port: PORT, threshold: 0.5, servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}` });
await poolctl(['sync', dir], etcd.clientUrl);
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const daemon = await startDaemon(etcd.endpoints, { observer: 'rc-poold' });
t.teardown(() => daemon.stop());

interface Agent { child: ChildProcess; url: string; fake: FakeIpvsadm }

async function startAgent(name: string): Promise<Agent> {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const child = spawn(process.execPath, [POOLCTL, 'lvs', 'agent', '--host', name, '--services', SECTION, '--ipvsadm', fake.path, '--listen', '127.0.0.1:0', '--period', '1s'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', POOLD_ETCD: etcd.clientUrl, ...fake.env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  t.teardown(() => {
    child.kill('SIGCONT');
    child.kill('SIGTERM');
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const url = await waitFor(`agent ${name} listening`, async () => /status at (http:\/\/[^/\s]+)\/status/.exec(err)?.[1] ?? '', (u) => u !== '', 20_000);
  return { child, url, fake };
}

const agents = [await startAgent('lvs1001'), await startAgent('lvs1002')];
const confirmWith = (timeout: string) => ['--confirm-agents', agents.map((a) => a.url).join(','), '--confirm-poold', daemon.url, '--confirm-timeout', timeout];
const confirmFlags = confirmWith('15s');
// The frozen-agent cases wait out the whole timeout by design: a shorter one keeps the file fast, and
// is still several times what a live agent needs to confirm on a loaded machine.
const frozenFlags = confirmWith('8s');

interface Status { lastReconcile: { result: string } | null; services: { service: string; pooledHosts?: string[] }[] }
const agentHosts = async (a: Agent) => {
  const s = await json<Status>(`${a.url}/status`);
  return ['noop', 'applied'].includes(s.lastReconcile?.result ?? '') ? (s.services.find((x) => x.service === SECTION)?.pooledHosts ?? []) : [];
};
const modRevisions = async () => Promise.all(H.map(async (h) => (await kv.get(`/conftool/v1/pools/${POOL}/${h}`))!.modRevision));

interface Summary { ok: boolean; hosts: { host: string; status: string; step?: string; error?: string; unconfirmed?: { kind: string; url: string; problem: string }[] }[] }

t.test('both agents and poold serve all four hosts', async (t) => {
  for (const a of agents) t.same(await waitFor(`agent ${a.url} has every host`, () => agentHosts(a), (h) => h.length === 4, 20_000), H);
});

t.test('every confirmer answers: a host is confirmed out of and back into IPVS on both agents', async (t) => {
  const r = await runPoolctl(['rolling', 'rcsvc', '--hosts', H[0], '--command', '/bin/true', '--yes', '--reason', 'confirm test', ...confirmFlags], { POOLD_ETCD: etcd.clientUrl }, { timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /confirmed out by 3 confirmer\(s\)/);
  t.match(r.stderr, /confirmed back in by 3 confirmer\(s\)/);
  // Each agent really took the host out: its stand-in log has the delete and the re-add.
  for (const a of agents) {
    t.ok(a.fake.restoreLines().some((l) => l.startsWith(`-d -t 10.9.66.1:${PORT} -r ${A[0]}`)), 'the agent deleted the host from IPVS');
  }
});

t.test('an agent frozen before the operation: stopped at the first host, nothing changed', async (t) => {
  for (const a of agents) await waitFor('every host back', () => agentHosts(a), (h) => h.length === 4, 20_000);
  const before = await modRevisions();
  agents[1].child.kill('SIGSTOP');
  t.teardown(() => agents[1].child.kill('SIGCONT'));
  const r = await runPoolctl(['rolling', 'rcsvc', '--command', '/bin/true', '--yes', '--json', ...frozenFlags], { POOLD_ETCD: etcd.clientUrl }, { timeoutMs: 60_000 });
  agents[1].child.kill('SIGCONT');
  t.equal(r.code, 1, 'exit non-zero');
  const s = JSON.parse(r.stdout) as Summary;
  t.same(s.hosts.map((h) => [h.host, h.status]), [[H[0], 'failed'], [H[1], 'untouched'], [H[2], 'untouched'], [H[3], 'untouched']]);
  t.equal(s.hosts[0].step, 'confirmers');
  t.same(s.hosts[0].unconfirmed?.map((u) => [u.kind, u.url]), [['agent', agents[1].url]], 'the frozen agent, and only it, is named');
  t.match(s.hosts[0].unconfirmed?.[0].problem, /unreachable \(no answer within \d+ ms\)/);
  t.match(r.stderr, new RegExp(`nothing was changed for ${H[0].replace(/\./g, '\\.')}`));
  t.same(await modRevisions(), before, 'no host written: every mod revision unchanged');
});

t.test('an agent frozen during the operation: stopped at the host in progress, later hosts untouched', async (t) => {
  for (const a of agents) await waitFor('agent thawed and current', () => agentHosts(a), (h) => h.length === 4, 20_000);
  const before = await modRevisions();
  // The command freezes the second agent while the second host is out (argv, run without a shell
  // by poolctl; the test chooses to run sh).
  const freeze = `/bin/sh -c 'if [ "$0" = "${H[1]}" ]; then kill -STOP ${agents[1].child.pid}; fi' {host}`;
  const r = await runPoolctl(['rolling', 'rcsvc', '--command', freeze, '--yes', ...frozenFlags], { POOLD_ETCD: etcd.clientUrl }, { timeoutMs: 90_000 });
  agents[1].child.kill('SIGCONT');
  t.equal(r.code, 1, 'exit non-zero');
  t.match(r.stdout, new RegExp(`STOPPED at ${H[1].replace(/\./g, '\\.')} \\(confirm-pooled\\): ${H[1].replace(/\./g, '\\.')} not confirmed back in the pool within 8000 ms by LVS agent ${agents[1].url} \\(unreachable`));
  t.match(r.stdout, new RegExp(`not confirmed by agent ${agents[1].url}: unreachable`));
  t.match(r.stderr, /\[1\/4\][^]*done in[^]*\[2\/4\][^]*FAILED at confirm-pooled/);
  t.notMatch(r.stderr, /\[3\/4\]/, 'the third host was never started');
  const after = await modRevisions();
  t.ok(after[0] > before[0] && after[1] > before[1], 'hosts 1 and 2 were written');
  t.same(after.slice(2), before.slice(2), 'hosts 3 and 4 keep their mod revisions');
  // The agent that did confirm has host 2 back; the frozen one catches up once thawed.
  t.same(await waitFor('thawed agent catches up', () => agentHosts(agents[1]), (h) => h.length === 4, 20_000), H);
});
