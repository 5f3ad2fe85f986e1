// Per-service MED (PyBal 1.15's section `bgp-med`, LvsDef.bgpMed) in the LVS agent's BGP plan: a
// service's MED is used when set, the agent's --bgp-med otherwise; services on one VIP that disagree
// (definitions written by another tool: pools/ loading refuses it) are announced with the HIGHEST
// MED, and the disagreement is reported on the announcement (/status) and logged once.
import t from 'tap';
import { bgpConfigFromFlags } from '../../src/lvs/bgp-config.js';
import { bgpViews, logMedConflicts } from '../../src/lvs/agent-bgp.js';
import type { ReconcileReport } from '../../src/lvs/agent-reconciler.js';
import type { ServiceInputs } from '../../src/lvs/agent-source.js';
import { planAnnouncements, type Announcement, type BgpServiceView, type PlanConfig } from '../../src/lvs/bgp-plan.js';
import { openKv } from '../../src/store/connection.js';
import { startEtcd } from '../helpers/etcd.js';
import { putDef, putState, startTestAgent } from './agent-helpers.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { poolState, serviceDef } from './lvs-fixtures.js';

const CFG: PlanConfig = { med: 100, nexthopIpv4: '10.64.0.10', nexthopIpv6: '2620:0:861:101::10', policy: 'keep', announceByDefault: true };
const view = (over: Partial<BgpServiceView> & { service: string }): BgpServiceView => ({ ip: '10.2.2.18', serving: 3, ...over });
const none = new Map<string, Announcement>();
const only = (views: BgpServiceView[], cfg = CFG) => [...planAnnouncements(views, cfg, none).announce.values()];

t.test('a service\'s bgpMed is the MED of its VIP, whatever the agent\'s --bgp-med', async (t) => {
  t.same(only([view({ service: 'eqiad/a', bgpMed: 10 })]), [
    { prefix: '10.2.2.18/32', family: 'ipv4', nexthop: '10.64.0.10', med: 10, services: ['eqiad/a'] },
  ]);
  t.same(only([view({ service: 'eqiad/a', bgpMed: 0 })])[0]!.med, 0, '0 is a MED, not "unset"');
  t.same(only([view({ service: 'eqiad/a', bgpMed: 4294967295 })])[0]!.med, 4294967295);
  // Two ports of one VIP that agree: one announcement, no conflict.
  const two = only([view({ service: 'eqiad/a', bgpMed: 10 }), view({ service: 'eqiad/b', bgpMed: 10 })]);
  t.same(two, [{ prefix: '10.2.2.18/32', family: 'ipv4', nexthop: '10.64.0.10', med: 10, services: ['eqiad/a', 'eqiad/b'] }]);
  // Each VIP its own MED; IPv6 too.
  t.same(only([view({ service: 'eqiad/a', bgpMed: 10 }), view({ service: 'eqiad/dns', ip: '2620:0:861:ed1a::3', bgpMed: 20 })]).map((a) => [a.prefix, a.med]), [
    ['10.2.2.18/32', 10], ['2620:0:861:ed1a::3/128', 20],
  ]);
});

t.test('without bgpMed, the agent\'s --bgp-med', async (t) => {
  t.same(only([view({ service: 'eqiad/a' })]), [{ prefix: '10.2.2.18/32', family: 'ipv4', nexthop: '10.64.0.10', med: 100, services: ['eqiad/a'] }]);
  t.same(only([view({ service: 'eqiad/a' })], { ...CFG, med: 0 })[0]!.med, 0);
});

t.test('services on one VIP that disagree: the highest MED is announced, and the conflict is on the announcement', async (t) => {
  const [a] = only([view({ service: 'eqiad/b', bgpMed: 50 }), view({ service: 'eqiad/a', bgpMed: 10 })]);
  t.same(a, {
    prefix: '10.2.2.18/32', family: 'ipv4', nexthop: '10.64.0.10', med: 50, services: ['eqiad/a', 'eqiad/b'],
    medConflict: [{ service: 'eqiad/a', bgpMed: 10, med: 10 }, { service: 'eqiad/b', bgpMed: 50, med: 50 }],
  });
  // Set next to unset (PyBal's rule: the settings differ): the highest of 10 and --bgp-med 100.
  const [b] = only([view({ service: 'eqiad/a', bgpMed: 10 }), view({ service: 'eqiad/b' })]);
  t.equal(b!.med, 100);
  t.same(b!.medConflict, [{ service: 'eqiad/a', bgpMed: 10, med: 10 }, { service: 'eqiad/b', med: 100 }]);
  // ... even where the unset one's --bgp-med is lower: never below the highest setting.
  t.equal(only([view({ service: 'eqiad/a', bgpMed: 200 }), view({ service: 'eqiad/b' })])[0]!.med, 200);
  // A bgp: false service on the VIP announces nothing and has no say in the MED.
  t.same(only([view({ service: 'eqiad/a', bgpMed: 10 }), view({ service: 'eqiad/b', bgp: false, bgpMed: 999 })])[0], {
    prefix: '10.2.2.18/32', family: 'ipv4', nexthop: '10.64.0.10', med: 10, services: ['eqiad/a'],
  });
  // withdraw-when-empty: an empty service on the VIP still has its say (the MED follows configuration, not load).
  const w = only([view({ service: 'eqiad/a', bgpMed: 10 }), view({ service: 'eqiad/b', bgpMed: 30, serving: 0 })], { ...CFG, policy: 'withdraw-when-empty' });
  t.match(w, [{ med: 30, services: ['eqiad/a'], medConflict: [{ service: 'eqiad/a' }, { service: 'eqiad/b' }] }]);
});

t.test('the agent\'s views carry the definition\'s bgpMed', async (t) => {
  const withMed = serviceDef({ lvs: { bgpMed: 10 } });
  const without = serviceDef({ service: 'other' });
  const snapshot = new Map<string, ServiceInputs>([
    ['eqiad/cxserver', { def: withMed } as ServiceInputs],
    ['eqiad/other', { def: without } as ServiceInputs],
  ]);
  const report = { services: [{ service: 'eqiad/cxserver', realServers: 3 }, { service: 'eqiad/other', realServers: 3 }] } as unknown as ReconcileReport;
  t.same(bgpViews(report, snapshot), [
    { service: 'eqiad/cxserver', ip: '10.2.2.18', bgpMed: 10, serving: 3 },
    { service: 'eqiad/other', ip: '10.2.2.18', serving: 3 },
  ]);
});

t.test('a MED conflict is logged once when it starts or changes, and once when it ends', async (t) => {
  const logs: Array<{ event: string; fields: Record<string, unknown> }> = [];
  const log = (event: string, fields: Record<string, unknown>) => logs.push({ event, fields });
  const seen = new Map<string, string>();
  const conflict = planAnnouncements([view({ service: 'eqiad/a', bgpMed: 10 }), view({ service: 'eqiad/b' })], CFG, none);
  logMedConflicts(conflict, seen, log);
  logMedConflicts(conflict, seen, log);
  t.same(logs, [{
    event: 'bgp-med-conflict',
    fields: {
      prefix: '10.2.2.18/32', med: 100, settings: 'eqiad/a: bgpMed 10, eqiad/b: no bgpMed (--bgp-med 100)',
      action: 'announced with the highest MED, 100: every service on a VIP must have the same bgpMed (poolctl sync refuses otherwise)',
    },
  }], 'once, not at every reconcile');
  logMedConflicts(planAnnouncements([view({ service: 'eqiad/a', bgpMed: 10 }), view({ service: 'eqiad/b', bgpMed: 20 })], CFG, none), seen, log);
  t.match(logs[1], { event: 'bgp-med-conflict', fields: { med: 20, settings: 'eqiad/a: bgpMed 10, eqiad/b: bgpMed 20' } }, 'changed settings are logged again');
  logMedConflicts(planAnnouncements([view({ service: 'eqiad/a', bgpMed: 10 }), view({ service: 'eqiad/b', bgpMed: 10 })], CFG, none), seen, log);
  t.same(logs[2], { event: 'bgp-med-conflict-resolved', fields: { prefix: '10.2.2.18/32' } });
  t.equal(logs.length, 3);
});

t.test('agent (dry-run, real etcd): definitions that disagree on one VIP are announced with the highest MED, reported in /status and the log', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const kv = await openKv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  // As another tool could write them: two services on 10.2.2.18 with MEDs 10 and 40; one on 10.2.2.19 with 5.
  const a = serviceDef({ lvs: { bgpMed: 10 } });
  const b = serviceDef({ service: 'cxserver-https', lvs: { port: 4443, bgpMed: 40 } });
  const c = serviceDef({ service: 'citoid', lvs: { ip: '10.2.2.19', bgpMed: 5 } });
  for (const d of [a, b, c]) {
    await putDef(kv, d);
    await putState(kv, poolState(d, Object.fromEntries(Object.keys(d.servers).map((h) => [h, {}])), 1));
  }
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const bgp = bgpConfigFromFlags({ bgp: true, bgpLocalAsn: '64600', bgpPeerAsn: '14907', bgpPeerAddress: '10.64.0.1', bgpNexthopIpv4: '10.64.0.10', bgpMed: '100', gobgpd: '/nonexistent/gobgpd', gobgp: '/nonexistent/gobgp' })!;
  const agent = await startTestAgent(fake, { kind: 'etcd', etcd: { endpoints: etcd.endpoints } }, { dryRun: true, bgp, services: ['eqiad/cxserver', 'eqiad/cxserver-https', 'eqiad/citoid'] });
  t.teardown(() => agent.agent.stop());
  await agent.next((r) => r.result === 'dry-run');
  await new Promise((r) => setTimeout(r, 200));
  const status = await (await fetch(`${agent.agent.url}/status`)).json() as { bgp: { med: number; announced: Announcement[] } };
  t.equal(status.bgp.med, 100, 'the agent\'s own --bgp-med');
  t.same(status.bgp.announced, [
    {
      prefix: '10.2.2.18/32', family: 'ipv4', nexthop: '10.64.0.10', med: 40, services: ['eqiad/cxserver', 'eqiad/cxserver-https'],
      medConflict: [{ service: 'eqiad/cxserver', bgpMed: 10, med: 10 }, { service: 'eqiad/cxserver-https', bgpMed: 40, med: 40 }],
    },
    { prefix: '10.2.2.19/32', family: 'ipv4', nexthop: '10.64.0.10', med: 5, services: ['eqiad/citoid'] },
  ]);
  t.same(agent.printed.filter((l) => l.startsWith('bgp ')), [
    'bgp announce 10.2.2.18/32 nexthop 10.64.0.10 med 40 (eqiad/cxserver, eqiad/cxserver-https) MED conflict: the highest is used',
    'bgp announce 10.2.2.19/32 nexthop 10.64.0.10 med 5 (eqiad/citoid)',
  ]);
  t.match(agent.logs.filter((l) => l.event === 'bgp-med-conflict'), [{ fields: { prefix: '10.2.2.18/32', med: 40, settings: 'eqiad/cxserver: bgpMed 10, eqiad/cxserver-https: bgpMed 40' } }]);
  t.equal(agent.logs.filter((l) => l.event === 'bgp-med-conflict').length, 1);
});
