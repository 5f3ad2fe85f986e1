// The agent as an operator runs it (`poolctl lvs agent --bgp ...`, the compiled CLI, a child
// process), against BIRD in a network namespace: when the agent dies, its routes go with it.
//   - SIGKILL (no chance to clean up): gobgpd gets SIGTERM from the kernel (parent-death signal),
//     closes its session, and BIRD drops the route at once, not after the hold time; no gobgpd is
//     left behind.
//   - SIGTERM: the agent stops cleanly, exit 0, route gone at once.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { openKv } from '../../src/store/connection.js';
import { startEtcd } from '../helpers/etcd.js';
import { POOLCTL, runPoolctl } from '../helpers/poolctl.js';
import { putDef, putState } from './agent-helpers.js';
import { HOLD_S, LVS_ASN, netnsUnavailable, processAlive, ROUTER_ASN, startLab } from './bgp-lab.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { poolState, serviceDef } from './lvs-fixtures.js';

const skip = netnsUnavailable();
if (skip) {
  t.plan(0, skip);
  process.exit(0);
}
if (!existsSync(POOLCTL)) throw new Error(`${POOLCTL} is missing: run 'npm run build' (npm test does) first`);

const AT_ONCE_MS = 3_000; // a third of the hold time: a closed session, not a hold-timer expiry
const VIP = '10.2.2.18/32';

const lab = await startLab(1);
t.teardown(() => lab.stop());
const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const def = serviceDef();
await putDef(kv, def);
await putState(kv, poolState(def, Object.fromEntries(Object.keys(def.servers).map((h) => [h, {}])), 1));
const l = lab.lvs[0]!;

const children = new Set<ChildProcess>();
t.teardown(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Starts the agent CLI; resolves with the process and its /status URL once BIRD has the route. */
async function startAgentCli(): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null>; stderr: () => string }> {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const child = spawn(process.execPath, [
    POOLCTL, 'lvs', 'agent', '--host', 'lvs1', '--etcd', etcd.endpoints.join(','), '--services', 'eqiad/cxserver',
    '--ipvsadm', fake.path, '--listen', '127.0.0.1:0',
    '--bgp', '--bgp-local-asn', String(LVS_ASN), '--bgp-peer-asn', String(ROUTER_ASN), '--bgp-peer-address', l.routerAddress,
    '--bgp-nexthop-ipv4', l.address, '--bgp-med', '10', '--bgp-hold-time', `${HOLD_S}s`, '--bgp-connect-retry', '1s', '--bgp-netns', l.netns,
  ], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...fake.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await lab.waitFor('the agent\'s route in BIRD', () => lab.routes(VIP).some((r) => r.from === 'lvs1' && r.med === 10), 30_000)
    .catch((err: Error) => {
      throw new Error(`${err.message}\nagent stderr:\n${stderr.slice(-3000)}`);
    });
  const url = /status at (http:\/\/\S+)\/status/.exec(stderr)?.[1];
  if (!url) throw new Error(`no status URL in the agent's output:\n${stderr}`);
  return { child, url, exited, stderr: () => stderr };
}

const gobgpdPid = async (url: string): Promise<number> => {
  const st = (await (await fetch(`${url}/status`)).json()) as { bgp: { daemon: { pid: number } } };
  return st.bgp.daemon.pid;
};

t.test('SIGKILL of the agent: the router drops the route at once and no gobgpd is left', async (t) => {
  const a = await startAgentCli();
  const pid = await gobgpdPid(a.url);
  t.ok(processAlive(pid), 'gobgpd runs as the agent\'s child');
  const t0 = Date.now();
  a.child.kill('SIGKILL');
  await a.exited;
  const ms = Date.now() - t0 + (await lab.waitFor('the route to go', () => lab.routes(VIP).length === 0, HOLD_S * 1000 + 10_000));
  t.comment(`agent SIGKILLed: route withdrawn after ${ms} ms (hold time ${HOLD_S} s)`);
  t.ok(ms <= AT_ONCE_MS, `withdrawn ${ms} ms after the kill: the session closed, no hold-timer wait`);
  await lab.waitFor('gobgpd to exit', () => !processAlive(pid), 5000);
  t.notOk(processAlive(pid), 'gobgpd died with its parent (parent-death signal)');
});

t.test('SIGTERM: clean stop, exit 0, route withdrawn at once', async (t) => {
  const a = await startAgentCli();
  const pid = await gobgpdPid(a.url);
  const t0 = Date.now();
  a.child.kill('SIGTERM');
  const ms = await lab.waitFor('the route to go', () => lab.routes(VIP).length === 0, HOLD_S * 1000 + 10_000);
  t.comment(`agent SIGTERMed: route withdrawn after ${Date.now() - t0} ms`);
  t.ok(Date.now() - t0 <= AT_ONCE_MS, `withdrawn ${ms} ms after SIGTERM`);
  const code = await a.exited;
  if (code !== 0) t.comment(a.stderr().slice(-2000));
  t.equal(code, 0, 'exit 0');
  t.notOk(processAlive(pid), 'gobgpd stopped');
});

t.test('bad BGP flags are usage errors (exit 2) that name the flag', async (t) => {
  const r1 = await runPoolctl(['lvs', 'agent', '--host', 'lvs1', '--bgp-med', '5']);
  t.equal(r1.code, 2);
  t.match(r1.stderr, 'BGP options given without --bgp (--bgp-med)');
  const r2 = await runPoolctl(['lvs', 'agent', '--host', 'lvs1', '--bgp', '--bgp-local-asn', '64600', '--bgp-peer-asn', '65000', '--bgp-peer-address', '10.0.0.1', '--bgp-nexthop-ipv4', 'not-an-ip']);
  t.equal(r2.code, 2);
  t.match(r2.stderr, '--bgp-nexthop-ipv4 "not-an-ip" is not an IPv4 address');
});
