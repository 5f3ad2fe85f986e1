// The LVS agent's BGP against a real router: network namespaces made here, BIRD 2 in the router
// namespace, each agent's gobgpd in its LVS namespace, pool states in a real etcd, the recording
// ipvsadm stand-in for IPVS. Routes are read from BIRD's table with `birdc show route`.
//
// What must hold (issue 15):
//   - a service's VIP is announced; one with `bgp: false` is not;
//   - policy keep (default): depooling the last pool member withdraws nothing;
//     policy withdraw-when-empty: it withdraws, and a repool announces again;
//   - a clean stop withdraws at once; a frozen gobgpd is dropped by the router within the hold time;
//   - the lower MED wins between two LVS hosts, and the secondary takes over when the primary stops;
//   - a gobgpd that dies is restarted and its routes re-announced; a route deleted by hand comes back;
//   - a service's own MED (`bgpMed`, PyBal's section `bgp-med`) overrides the agent's --bgp-med in the
//     router's table, and a changed one is re-announced;
//   - an IPIP service (`method: i`, PyBal's `tunneling = true`) is announced like any other, and its
//     real servers reach IPVS with `-i`. (The kernel's IPIP encapsulation itself needs IPVS, which
//     this kernel lacks: the stand-in records the commands instead.)
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { bgpConfigFromFlags, type BgpConfig } from '../../src/lvs/bgp-config.js';
import { openKv } from '../../src/store/connection.js';
import type { EffectiveServer } from '../../src/model/types.js';
import { startEtcd } from '../helpers/etcd.js';
import { putDef, putState, startTestAgent, type TestAgent } from './agent-helpers.js';
import { HOLD_S, LVS_ASN, netnsUnavailable, processAlive, ROUTER_ASN, startLab, type Lab } from './bgp-lab.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { poolState, serviceDef } from './lvs-fixtures.js';

const skip = netnsUnavailable();
if (skip) {
  t.plan(0, skip);
  process.exit(0);
}

// Generous: the machine is shared. What the tests assert is the order of magnitude named in each.
const ANNOUNCE_WITHIN_MS = 20_000; // session set-up (connect retry 1 s) + first reconcile
const CLEAN_STOP_WITHIN_MS = 3_000; // "at once": a third of the hold time, so not a hold-timer expiry
const POLL_MS = 500;
const VIP = '10.2.2.18/32';
const VIP_NOBGP = '10.2.2.19/32';

const lab: Lab = await startLab(2);
t.teardown(() => lab.stop());
const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());

const def = serviceDef();
const nobgp = serviceDef({ service: 'nobgp', lvs: { ip: '10.2.2.19', port: 80, bgp: false } });
let revision = 1;
const hosts = Object.keys(def.servers);
const state = (s: Partial<EffectiveServer>) => poolState(def, Object.fromEntries(hosts.map((h) => [h, s])), revision++);
await putDef(kv, def);
await putState(kv, state({}));
const dns = serviceDef({
  service: 'dns', lvs: { ip: '2001:db8:ed1a:0:0:0:0:3', port: 53, protocol: 'udp', scheduler: 'sh' },
  servers: { 'dns1001.wikimedia.org': '2001:db8:1::5', 'dns1002.wikimedia.org': '2001:db8:1::6' },
});
await putDef(kv, dns);
await putState(kv, poolState(dns, { 'dns1001.wikimedia.org': {}, 'dns1002.wikimedia.org': {} }, 1));
await putDef(kv, nobgp);
const ipip = serviceDef({ service: 'upload', lvs: { ip: '10.2.2.20', port: 443, method: 'i', scheduler: 'mh' } });
await putDef(kv, ipip);
await putState(kv, poolState(ipip, Object.fromEntries(Object.keys(ipip.servers).map((h) => [h, {}])), 1));
await putState(kv, poolState(nobgp, Object.fromEntries(Object.keys(nobgp.servers).map((h) => [h, {}])), 1));
const source = { kind: 'etcd' as const, etcd: { endpoints: etcd.endpoints } };

function bgpFor(i: number, over: Record<string, string> = {}): BgpConfig {
  const l = lab.lvs[i]!;
  return bgpConfigFromFlags({
    bgp: true,
    bgpLocalAsn: String(LVS_ASN),
    bgpPeerAsn: String(ROUTER_ASN),
    bgpPeerAddress: l.routerAddress,
    bgpNexthopIpv4: l.address,
    bgpHoldTime: `${HOLD_S}s`,
    bgpConnectRetry: '1s',
    bgpPoll: `${POLL_MS}ms`,
    bgpNetns: l.netns,
    ...over,
  })!;
}

const running = new Set<TestAgent>();
t.teardown(async () => {
  for (const a of running) await a.agent.stop();
});
async function agentOn(i: number, over: Record<string, string> = {}, services = ['eqiad/cxserver', 'eqiad/nobgp']): Promise<TestAgent> {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const dbg = process.env.BGP_DEBUG ? { log: (e: string, f: Record<string, unknown>) => process.stderr.write(`${new Date().toISOString()} lvs${i + 1} ${e} ${JSON.stringify(f)}\n`) } : {};
  const a = await startTestAgent(fake, source, { services, bgp: bgpFor(i, over), host: `lvs${i + 1}`, ...dbg });
  running.add(a);
  return a;
}
async function stopAgent(a: TestAgent): Promise<void> {
  await a.agent.stop();
  running.delete(a);
}

const from = (proto: string) => () => lab.routes(VIP).some((r) => r.from === proto);
const notFrom = (proto: string) => () => !lab.routes(VIP).some((r) => r.from === proto);
const primary = () => lab.routes(VIP).find((r) => r.primary);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('announces the VIP of a served service, not the one with bgp: false; status and metrics say so', async (t) => {
  const a = await agentOn(0);
  const ms = await lab.waitFor(`${VIP} from lvs1`, from('lvs1'), ANNOUNCE_WITHIN_MS);
  t.comment(`route in BIRD ${ms} ms after the agent started (session set-up included)`);
  t.match(lab.routes(VIP), [{ from: 'lvs1', primary: true, med: 0, via: lab.lvs[0]!.address }]);
  t.same(lab.routes(VIP_NOBGP), [], 'bgp: false is not announced');
  // The agent reads its sessions' state from gobgpd every --bgp-poll: BIRD may see the route first.
  for (let i = 0; i < 100 && !a.agent.status().bgp!.peers.every((p) => p.established); i++) await new Promise((r) => setTimeout(r, 100));
  const st = a.agent.status().bgp!;
  t.match(st.announced, [{ prefix: VIP, nexthop: lab.lvs[0]!.address, med: 0, services: ['eqiad/cxserver'] }]);
  t.match(st.withheld, [{ prefix: VIP_NOBGP, services: ['eqiad/nobgp'], reason: 'bgp: false' }]);
  t.match(st.peers, [{ address: lab.lvs[0]!.routerAddress, established: true }]);
  const metrics = await (await fetch(`${a.agent.url}/metrics`)).text();
  t.match(metrics, /poold_lvs_bgp_announced\{prefix="10\.2\.2\.18\/32",lvs_host="lvs1"\} 1/);
  t.match(metrics, /poold_lvs_bgp_withheld\{prefix="10\.2\.2\.19\/32",lvs_host="lvs1"\} 1/);
  t.match(metrics, /poold_lvs_bgp_peer_established\{peer="10\.99\.1\.1",lvs_host="lvs1"\} 1/);

  t.test('policy keep: depooling every pool member withdraws nothing', async (t) => {
    const since = a.reports.length;
    await putState(kv, state({ pooledAdmin: 'no' }));
    const r = await a.next((x) => x.result === 'applied', since);
    t.equal(r.commands.filter((c) => c.startsWith('-d ')).length, 3, 'the real servers left IPVS');
    t.equal(a.agent.status().services.find((s) => s.service === 'eqiad/cxserver')?.realServers, 0);
    await sleep(4 * POLL_MS + 1000);
    t.match(lab.routes(VIP), [{ from: 'lvs1', primary: true }], 'still announced: a VIP is only withdrawn by policy');
    await putState(kv, state({}));
    await a.next((x) => x.result === 'applied', a.reports.length);
  });

  t.test('a route deleted by hand in gobgpd comes back within a poll', async (t) => {
    const api = a.agent.status().bgp!.daemon.api!;
    const del = spawnSync('gobgp', ['--target', api, 'global', 'rib', 'del', '-a', 'ipv4', VIP], { encoding: 'utf8' });
    t.equal(del.status, 0, del.stderr);
    await lab.waitFor('the route to go', notFrom('lvs1'), 5000);
    const ms = await lab.waitFor('the route to come back', from('lvs1'), POLL_MS * 4 + 5000);
    t.comment(`re-announced ${ms} ms after it disappeared (poll ${POLL_MS} ms)`);
  });

  t.test('a clean stop withdraws at once and leaves no gobgpd behind', async (t) => {
    const { pid, api } = a.agent.status().bgp!.daemon;
    t.ok(pid !== null && processAlive(pid), 'gobgpd runs');
    const t0 = Date.now();
    await stopAgent(a);
    const ms = Date.now() - t0 + (await lab.waitFor('the route to be withdrawn', notFrom('lvs1'), 10_000));
    t.comment(`clean stop: withdrawn ${ms} ms after stop() began (hold time ${HOLD_S} s)`);
    t.ok(ms <= CLEAN_STOP_WITHIN_MS, `withdrawn ${ms} ms after stop() began (hold time ${HOLD_S} s)`);
    t.notOk(processAlive(pid!), 'gobgpd exited');
    t.notOk(existsSync(dirname(api!.replace('unix://', ''))), 'its private directory is removed');
  });
});

t.test('MED: the lower one wins, whatever the order; the secondary takes over when the primary stops', async (t) => {
  // The secondary first, so that the primary's route is the newer one: only the MED can prefer it.
  const secondary = await agentOn(1, { bgpMed: '100' });
  await lab.waitFor('the secondary\'s route', from('lvs2'), ANNOUNCE_WITHIN_MS);
  t.match(primary(), { from: 'lvs2', med: 100 });
  const prim = await agentOn(0, { bgpMed: '10' });
  await lab.waitFor('the primary\'s route to be preferred', () => primary()?.from === 'lvs1', ANNOUNCE_WITHIN_MS);
  t.match(lab.routes(VIP).map((r) => [r.from, r.med, r.primary]).sort(), [['lvs1', 10, true], ['lvs2', 100, false]], 'both routes, MED 10 preferred');
  const t0 = Date.now();
  await stopAgent(prim);
  const ms = Date.now() - t0 + (await lab.waitFor('the secondary to take over', () => primary()?.from === 'lvs2', 10_000));
  t.comment(`MED takeover: the secondary carries the VIP ${ms} ms after the primary's agent began to stop`);
  t.ok(ms <= CLEAN_STOP_WITHIN_MS, `the secondary carries the VIP ${ms} ms after the primary's agent began to stop`);
  t.same(lab.routes(VIP).map((r) => r.from), ['lvs2'], 'the primary\'s route is gone');

  t.test('gobgpd killed: the agent restarts it and re-announces', async (t) => {
    const before = secondary.agent.status().bgp!.daemon.pid!;
    process.kill(before, 'SIGKILL');
    await lab.waitFor('BIRD to lose the route (the kernel closed the session)', notFrom('lvs2'), 10_000);
    const ms = await lab.waitFor('the route to come back', from('lvs2'), 20_000);
    t.comment(`re-announced ${ms} ms after BIRD lost it (restart back-off 1 s, connect retry 1 s)`);
    const st = secondary.agent.status().bgp!;
    t.equal(st.daemon.restarts, 1);
    t.not(st.daemon.pid, before, 'a new gobgpd');
    t.match(st.daemon.lastExit, /SIGKILL/);
    const metrics = await (await fetch(`${secondary.agent.url}/metrics`)).text();
    t.match(metrics, /poold_lvs_bgp_daemon_restarts_total\{lvs_host="lvs2"\} 1/);
  });

  t.test('a frozen gobgpd: the router drops its route within the hold time', async (t) => {
    const pid = secondary.agent.status().bgp!.daemon.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const ms = await lab.waitFor('the hold timer to expire', notFrom('lvs2'), HOLD_S * 1000 + 10_000);
      t.comment(`frozen gobgpd: route dropped ${ms} ms after the freeze (hold time ${HOLD_S} s)`);
      // A keepalive may have arrived just before the freeze: the router drops the session after the hold time, plus our polling.
      t.ok(ms <= HOLD_S * 1000 + 2000, `dropped ${ms} ms after gobgpd froze (hold time ${HOLD_S} s)`);
      t.ok(ms >= CLEAN_STOP_WITHIN_MS, 'by the hold timer, not at once (the session stayed open)');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Thawed, it reconnects and announces again.
    await lab.waitFor('the route to come back after the thaw', from('lvs2'), 20_000);
    await stopAgent(secondary);
    await lab.waitFor('the route to be withdrawn', notFrom('lvs2'), 5000);
  });
});

t.test('policy withdraw-when-empty: depooling the last member withdraws; a repool announces again', async (t) => {
  const a = await agentOn(0, { bgpPolicy: 'withdraw-when-empty' });
  await lab.waitFor('the route', from('lvs1'), ANNOUNCE_WITHIN_MS);
  // Depool all but one: still announced.
  const [h1, h2, h3] = hosts as [string, string, string];
  await putState(kv, poolState(def, { [h1]: { pooledAdmin: 'no' }, [h2]: { pooledAdmin: 'no' }, [h3]: {} }, revision++));
  await a.next((x) => x.result === 'applied', a.reports.length);
  await sleep(2 * POLL_MS);
  t.match(lab.routes(VIP), [{ from: 'lvs1' }], 'one real server left: still announced');
  if (process.env.BGP_DEBUG) process.stderr.write(`${new Date().toISOString()} depool last\n`);
  await putState(kv, poolState(def, { [h1]: { pooledAdmin: 'no' }, [h2]: { pooledAdmin: 'no' }, [h3]: { pooledAdmin: 'no' } }, revision++));
  const ms = await lab.waitFor('the withdrawal', notFrom('lvs1'), 10_000);
  t.comment(`withdrawn ${ms} ms after the last member was depooled`);
  t.match(a.agent.status().bgp!.withheld, [{ prefix: VIP, reason: 'no real server (policy withdraw-when-empty)' }]);
  await putState(kv, state({}));
  await lab.waitFor('the route to come back on repool', from('lvs1'), 10_000);
  await stopAgent(a);
});

t.test('IPv6: a VIP of an IPv6 service is announced as a /128 with the IPv6 next hop, over the IPv4 session', async (t) => {
  const l = lab.lvs[1]!;
  const V6 = '2001:db8:ed1a::3/128';
  const a = await agentOn(1, { bgpNexthopIpv6: l.address6 }, ['eqiad/dns', 'eqiad/cxserver']);
  await lab.waitFor('the IPv6 route', () => lab.routes(V6).some((r) => r.from === 'lvs2'), ANNOUNCE_WITHIN_MS);
  t.match(lab.routes(V6), [{ from: 'lvs2', primary: true, med: 0, via: l.address6 }]);
  await lab.waitFor('the IPv4 route too', from('lvs2'), ANNOUNCE_WITHIN_MS);
  t.same(a.agent.status().bgp!.announced.map((x) => x.prefix), ['10.2.2.18/32', V6]);
  await stopAgent(a);
  await lab.waitFor('both routes to go', () => lab.routes(V6).length === 0 && notFrom('lvs2')(), 5000);
});

t.test('IPIP: a tunnelled service is announced, and its real servers reach IPVS with -i', async (t) => {
  const V = '10.2.2.20/32';
  const a = await agentOn(0, {}, ['eqiad/upload']);
  await lab.waitFor('the IPIP service\'s route', () => lab.routes(V).some((r) => r.from === 'lvs1'), ANNOUNCE_WITHIN_MS);
  t.match(lab.routes(V), [{ from: 'lvs1', primary: true, via: lab.lvs[0]!.address }]);
  const applied = await a.next((r) => r.result === 'applied');
  t.same(applied.commands.filter((c) => c.startsWith('-a ')).sort(), [
    '-a -t 10.2.2.20:443 -r 10.64.0.1 -i -w 10',
    '-a -t 10.2.2.20:443 -r 10.64.0.2 -i -w 10',
    '-a -t 10.2.2.20:443 -r 10.64.0.3 -i -w 10',
  ], 'every real server is added with tunnel forwarding');
  await stopAgent(a);
  await lab.waitFor('the route to go', () => !lab.routes(V).some((r) => r.from === 'lvs1'), 5000);
});

t.test('per-service MED: the service\'s bgpMed 10 reaches the router although the agent\'s --bgp-med is 100; a change is re-announced', async (t) => {
  const V = '10.2.2.21/32';
  const med = (bgpMed: number) => serviceDef({ service: 'citoid', lvs: { ip: '10.2.2.21', port: 80, bgpMed } });
  await putDef(kv, med(10));
  await putState(kv, poolState(med(10), Object.fromEntries(Object.keys(med(10).servers).map((h) => [h, {}])), 1));
  const a = await agentOn(0, { bgpMed: '100' }, ['eqiad/citoid', 'eqiad/cxserver']);
  await lab.waitFor('the citoid route', () => lab.routes(V).some((r) => r.from === 'lvs1'), ANNOUNCE_WITHIN_MS);
  await lab.waitFor('the cxserver route', from('lvs1'), ANNOUNCE_WITHIN_MS);
  t.match(lab.routes(V), [{ from: 'lvs1', primary: true, med: 10, via: lab.lvs[0]!.address }], 'BIRD sees the service\'s MED');
  t.match(lab.routes(VIP), [{ from: 'lvs1', med: 100 }], 'a service without bgpMed: the agent\'s --bgp-med');
  t.match(a.agent.status().bgp!.announced, [{ prefix: VIP, med: 100 }, { prefix: V, med: 10, services: ['eqiad/citoid'] }]);
  t.notOk(a.agent.status().bgp!.announced.some((x) => x.medConflict), 'no conflict');
  // The definition changes (poolctl sync of a new bgp_med): the route is replaced with the new MED.
  await putDef(kv, med(20));
  const ms = await lab.waitFor('the MED to change to 20', () => lab.routes(V).some((r) => r.from === 'lvs1' && r.med === 20), 10_000);
  t.comment(`MED 10 → 20 in BIRD ${ms} ms after the definition changed`);
  t.same(lab.routes(V).map((r) => [r.from, r.med]), [['lvs1', 20]]);
  await stopAgent(a);
  await lab.waitFor('the routes to go', () => lab.routes(V).length === 0 && notFrom('lvs1')(), 5000);
});
