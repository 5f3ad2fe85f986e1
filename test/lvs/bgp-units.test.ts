// The BGP parts that need no network: flags → config, the announcement plan (policies, fail
// static), gobgp's JSON, gobgpd's configuration, and the agent's BGP dry-run.
import t from 'tap';
import { bgpConfigFromFlags, type BgpConfig } from '../../src/lvs/bgp-config.js';
import { gobgpdConfig } from '../../src/lvs/bgp-daemon.js';
import { parseNeighbors, parseRib } from '../../src/lvs/bgp-gobgp.js';
import { planAnnouncements, type Announcement, type BgpServiceView, type PlanConfig } from '../../src/lvs/bgp-plan.js';
import { openKv } from '../../src/store/connection.js';
import { startEtcd } from '../helpers/etcd.js';
import { putDef, putState, startTestAgent } from './agent-helpers.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { poolState, serviceDef } from './lvs-fixtures.js';

const FLAGS = { bgp: true, bgpLocalAsn: '64600', bgpPeerAsn: '14907', bgpPeerAddress: '10.64.0.1, 10.64.16.1', bgpNexthopIpv4: '10.64.0.10' };

t.test('flags: PyBal names, defaults, and a usage error naming the flag', async (t) => {
  const c = bgpConfigFromFlags(FLAGS)!;
  t.match(c, {
    localAsn: 64600, peerAsn: 14907, peers: ['10.64.0.1', '10.64.16.1'], med: 0, nexthopIpv4: '10.64.0.10', routerId: '10.64.0.10',
    localIps: [], localPort: 179, holdTimeS: 90, connectRetryS: 5, policy: 'keep', announceByDefault: true, pollMs: 5000,
  });
  t.equal(c.nexthopIpv6, undefined);
  t.equal(bgpConfigFromFlags({}), undefined, 'no --bgp, no BGP');
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ bgpMed: '10' }, /BGP options given without --bgp \(--bgp-med\)/],
    [{ ...FLAGS, bgpLocalAsn: undefined }, /--bgp needs --bgp-local-asn/],
    [{ ...FLAGS, bgpPeerAddress: '' }, /--bgp needs --bgp-peer-address/],
    [{ ...FLAGS, bgpPeerAddress: 'router1' }, /--bgp-peer-address "router1" is not an IP address/],
    [{ ...FLAGS, bgpNexthopIpv4: undefined }, /--bgp needs --bgp-nexthop-ipv4 and\/or --bgp-nexthop-ipv6/],
    [{ ...FLAGS, bgpNexthopIpv4: undefined, bgpNexthopIpv6: '2620::10' }, /--bgp needs --bgp-router-id/],
    [{ ...FLAGS, bgpMed: '-1' }, /--bgp-med "-1" must be an integer 0..4294967295/],
    [{ ...FLAGS, bgpHoldTime: '2s' }, /--bgp-hold-time 2s must be 3..65535 seconds/],
    [{ ...FLAGS, bgpHoldTime: '1500ms' }, /--bgp-hold-time "1500ms" must be a whole number of seconds/],
    [{ ...FLAGS, bgpPolicy: 'never' }, /--bgp-policy "never" must be one of keep, withdraw-when-empty/],
    [{ ...FLAGS, bgpNetns: 'a b' }, /--bgp-netns "a b" is not a namespace name/],
  ];
  for (const [flags, re] of bad) t.throws(() => bgpConfigFromFlags(flags), { name: 'UsageError', message: re }, String(re));
});

const CFG: PlanConfig = { med: 10, nexthopIpv4: '10.64.0.10', nexthopIpv6: '2620:0:861:101::10', policy: 'keep', announceByDefault: true };
const view = (over: Partial<BgpServiceView> & { service: string }): BgpServiceView => ({ ip: '10.2.2.18', serving: 3, ...over });
const none = new Map<string, Announcement>();

t.test('plan: one announcement per VIP (several ports share it), IPv6 /128, bgp: false and missing next hop withheld', async (t) => {
  const plan = planAnnouncements([
    view({ service: 'eqiad/text/text-https' }),
    view({ service: 'eqiad/text/text-http' }),
    view({ service: 'eqiad/dns/dns', ip: '2620:0:861:ed1a:0:0:0:3' }),
    view({ service: 'eqiad/x/private', ip: '10.2.2.99', bgp: false }),
  ], CFG, none);
  t.same([...plan.announce.values()], [
    { prefix: '10.2.2.18/32', family: 'ipv4', nexthop: '10.64.0.10', med: 10, services: ['eqiad/text/text-http', 'eqiad/text/text-https'] },
    { prefix: '2620:0:861:ed1a::3/128', family: 'ipv6', nexthop: '2620:0:861:101::10', med: 10, services: ['eqiad/dns/dns'] },
  ]);
  t.same(plan.withheld, [{ prefix: '10.2.2.99/32', services: ['eqiad/x/private'], reason: 'bgp: false' }]);
  const v4only = planAnnouncements([view({ service: 'eqiad/dns/dns', ip: '2620::3' })], { ...CFG, nexthopIpv6: undefined }, none);
  t.same(v4only.withheld, [{ prefix: '2620::3/128', services: ['eqiad/dns/dns'], reason: 'no --bgp-nexthop-ipv6 to announce an IPv6 VIP with' }]);
  const optIn = planAnnouncements([view({ service: 'a' }), view({ service: 'b', ip: '10.2.2.19', bgp: true })], { ...CFG, announceByDefault: false }, none);
  t.same([...optIn.announce.keys()], ['10.2.2.19/32'], '--bgp-default no: only bgp: true services');
});

t.test('plan: keep announces an empty service; withdraw-when-empty does not, unless a service on the VIP still serves', async (t) => {
  const empty = [view({ service: 'a', serving: 0 })];
  t.same([...planAnnouncements(empty, CFG, none).announce.keys()], ['10.2.2.18/32'], 'keep');
  const w = { ...CFG, policy: 'withdraw-when-empty' as const };
  const p = planAnnouncements(empty, w, none);
  t.same([...p.announce.keys()], []);
  t.same(p.withheld, [{ prefix: '10.2.2.18/32', services: ['a'], reason: 'no real server (policy withdraw-when-empty)' }]);
  t.same([...planAnnouncements([...empty, view({ service: 'b', serving: 1 })], w, none).announce.get('10.2.2.18/32')!.services], ['b']);
});

t.test('plan: fail static: a service that cannot be judged keeps what it had, and adds nothing new', async (t) => {
  const w = { ...CFG, policy: 'withdraw-when-empty' as const };
  const before = planAnnouncements([view({ service: 'a' })], w, none).announce;
  // Skipped (e.g. no pool state readable): still announced.
  t.same([...planAnnouncements([view({ service: 'a', skipped: 'no pool state published', serving: 0 })], w, before).announce.keys()], ['10.2.2.18/32']);
  // Definition gone from the source: still announced, with its previous attributes.
  t.same(planAnnouncements([{ service: 'a', skipped: 'no service definition' }], w, before).announce, before);
  // Absent from the report altogether (the source failed mid-reconcile): still announced.
  t.same(planAnnouncements([], w, before).announce, before);
  // But a skipped service never announced before is not announced.
  const fresh = planAnnouncements([view({ service: 'a', skipped: 'no pool state published', serving: 0 })], w, none);
  t.same([...fresh.announce.keys()], []);
  t.match(fresh.withheld, [{ prefix: '10.2.2.18/32', reason: 'state unknown, not announced before' }]);
  // An explicit bgp: false does withdraw.
  t.same([...planAnnouncements([view({ service: 'a', bgp: false })], w, before).announce.keys()], []);
});

t.test('gobgp JSON: our paths only (not those learnt from routers); neighbours', async (t) => {
  const rib = JSON.stringify({
    '10.2.2.18/32': [{ nlri: { prefix: '10.2.2.18/32' }, best: true, attrs: [{ type: 1, value: 0 }, { type: 4, metric: 10 }, { type: 3, nexthop: '10.99.1.2' }] }],
    '198.51.100.0/24': [{ nlri: { prefix: '198.51.100.0/24' }, attrs: [{ type: 3, nexthop: '10.99.1.1' }], 'source-id': '10.99.0.1', 'neighbor-ip': '10.99.1.1' }],
  });
  t.same(parseRib(rib, 'ipv4'), [{ prefix: '10.2.2.18/32', family: 'ipv4', nexthop: '10.99.1.2', med: 10 }]);
  const v6 = JSON.stringify({ '2001:db8::1/128': [{ attrs: [{ type: 1, value: 0 }, { type: 4, metric: 5 }, { type: 14, nexthop: 'fd00::2', afi: 2, safi: 1 }] }] });
  t.same(parseRib(v6, 'ipv6'), [{ prefix: '2001:db8::1/128', family: 'ipv6', nexthop: 'fd00::2', med: 5 }]);
  t.same(parseRib('', 'ipv4'), []);
  t.throws(() => parseRib('nope', 'ipv4'), { name: 'BgpError', message: /not JSON/ });
  t.same(parseNeighbors(JSON.stringify([{ conf: { neighbor_address: '10.99.1.1' }, state: { neighbor_address: '10.99.1.1', session_state: 6 } }, { state: { neighbor_address: '10.99.2.1', session_state: 3 } }])), [
    { address: '10.99.1.1', state: 'established', established: true },
    { address: '10.99.2.1', state: 'active', established: false },
  ]);
});

t.test('gobgpd configuration: peers, timers, families of the configured next hops', async (t) => {
  const c: BgpConfig = { ...bgpConfigFromFlags({ ...FLAGS, bgpHoldTime: '30s', bgpLocalIps: '10.64.0.10' })! };
  t.same(gobgpdConfig(c), {
    global: { config: { as: 64600, 'router-id': '10.64.0.10', port: 179, 'local-address-list': ['10.64.0.10'] } },
    neighbors: ['10.64.0.1', '10.64.16.1'].map((peer) => ({
      config: { 'neighbor-address': peer, 'peer-as': 14907 },
      timers: { config: { 'hold-time': 30, 'keepalive-interval': 10, 'connect-retry': 5, 'idle-hold-time-after-reset': 5 } },
      'afi-safis': [{ config: { 'afi-safi-name': 'ipv4-unicast' } }],
    })),
  });
});

t.test('agent dry-run with BGP: no gobgpd, the announcements are printed', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = await openKv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const def = serviceDef();
  await putDef(kv, def);
  await putState(kv, poolState(def, Object.fromEntries(Object.keys(def.servers).map((h) => [h, {}])), 1));
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  // gobgpd paths that do not exist: dry-run must not need them.
  const bgp = bgpConfigFromFlags({ ...FLAGS, bgpMed: '7', gobgpd: '/nonexistent/gobgpd', gobgp: '/nonexistent/gobgp' })!;
  const a = await startTestAgent(fake, { kind: 'etcd', etcd: { endpoints: etcd.endpoints } }, { dryRun: true, bgp });
  t.teardown(() => a.agent.stop());
  await a.next((r) => r.result === 'dry-run');
  await new Promise((r) => setTimeout(r, 200));
  t.same(a.printed.filter((l) => l.startsWith('bgp ')), ['bgp announce 10.2.2.18/32 nexthop 10.64.0.10 med 7 (eqiad/cxserver)']);
  t.match(a.agent.status().bgp, { dryRun: true, daemon: { pid: null, running: false }, announced: [{ prefix: '10.2.2.18/32', med: 7 }] });
});

t.test('a gobgpd that cannot start fails the agent start with the reason, before IPVS is touched', async (t) => {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const bgp = bgpConfigFromFlags({ ...FLAGS, gobgpd: '/nonexistent/gobgpd' })!;
  await t.rejects(startTestAgent(fake, { kind: 'poold', url: 'http://127.0.0.1:9' }, { bgp }), { name: 'BgpError', message: /gobgpd did not start/ });
  t.same(fake.log(), [], 'ipvsadm never ran');
});
