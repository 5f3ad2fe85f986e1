// Issue 15 items 2 and 3 through the whole chain: pools YAML (`method: i`, `drain: ...`) → normalized
// ServiceDef in a real etcd → the LVS agent → the recording ipvsadm stand-in. Checks the exact
// command sequence and its timing: a depool first sets weight 0, the delete comes when the drain
// period ends; a repool during the drain restores the weight and nothing is deleted.
import t from 'tap';
import { parsePoolsText } from '../../src/config/pools/index.js';
import { openKv } from '../../src/store/connection.js';
import type { EffectiveServer } from '../../src/model/types.js';
import { startEtcd } from '../helpers/etcd.js';
import { putDef, putState, startTestAgent } from './agent-helpers.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { poolState } from './lvs-fixtures.js';

// Long enough that the repool test's second write lands inside the drain even on a loaded machine (at
// 1.5 s a full-suite run once saw the drain end first).
const DRAIN_MS = 5000;
// The machine is shared and loaded: the delete must not come early, and may come this much late.
const LATE_MARGIN_MS = 4000;

const yaml = `dc: eqiad
services:
  cloudelastic:
    cluster: cloudelastic
    lvs: { ip: 10.2.2.54, port: 9243, scheduler: mh, method: i, drain: ${DRAIN_MS}ms }
    checks: [ { kind: tcp } ]
    servers:
      cloudelastic1005.eqiad.wmnet: { weight: 10, address: 10.64.0.5 }
      cloudelastic1006.eqiad.wmnet: { weight: 10, address: 10.64.0.6 }
      cloudelastic1007.eqiad.wmnet: { weight: 10, address: 10.64.0.7 }
`;
const loaded = parsePoolsText(yaml, 'eqiad.yaml');
if (loaded.problems.length) throw new Error(JSON.stringify(loaded.problems));
const def = loaded.services[0]!;
const [H5, H6, H7] = ['cloudelastic1005.eqiad.wmnet', 'cloudelastic1006.eqiad.wmnet', 'cloudelastic1007.eqiad.wmnet'];
const PATH = 'eqiad/cloudelastic_9243';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const fake = fakeIpvsadm();
t.teardown(fake.cleanup);

let revision = 1;
const state = (servers: Record<string, Partial<EffectiveServer>>) => poolState(def, servers, revision++);
/** -R lines logged since `mark`, each with the time the stand-in applied it. */
const linesSince = (mark: number) =>
  fake.log().slice(mark).filter((e) => e.argv[0] === '-R').flatMap((e) => e.stdin.split('\n').filter(Boolean).map((line) => ({ line, at: e.at })));
const metric = async (url: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /poold_lvs_draining_servers\{service="eqiad\/cloudelastic_9243",lvs_host="lvs1001"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
};

await putDef(kv, def);
await putState(kv, state({ [H5]: {}, [H6]: {}, [H7]: {} }));
const a = await startTestAgent(fake, { kind: 'etcd', etcd: { endpoints: etcd.endpoints } }, { services: [PATH] });
t.teardown(() => a.agent.stop());

t.test('pools YAML carries method i and the drain period into the ServiceDef', async (t) => {
  t.same(def.lvs, { ip: '10.2.2.54', port: 9243, protocol: 'tcp', scheduler: 'mh', method: 'i', drainMs: DRAIN_MS });
});


t.test('IPIP: real servers are added with -i', async (t) => {
  await a.next((r) => r.result === 'applied');
  t.same(fake.restoreLines(), [
    '-A -t 10.2.2.54:9243 -s mh',
    '-a -t 10.2.2.54:9243 -r 10.64.0.5 -i -w 10',
    '-a -t 10.2.2.54:9243 -r 10.64.0.6 -i -w 10',
    '-a -t 10.2.2.54:9243 -r 10.64.0.7 -i -w 10',
  ]);
  const listing = fake.run(['-L', '-n']).stdout;
  t.match(listing, /-> 10\.64\.0\.5:9243\s+Tunnel\s+10/, 'the table holds tunnel forwarding');
});

t.test('depool: weight 0 at once, delete when the drain period ends; shown in /status and /metrics', async (t) => {
  const mark = fake.log().length;
  const since = a.reports.length;
  const t0 = Date.now();
  await putState(kv, state({ [H5]: {}, [H6]: { pooledAdmin: 'no' }, [H7]: {} }));
  const r = await a.next((x) => x.result === 'applied', since);
  t.same(r.commands, ['-e -t 10.2.2.54:9243 -r 10.64.0.6 -i -w 0'], 'no new connections, nothing deleted yet');
  const st = a.agent.status().services.find((s) => s.service === PATH)!;
  t.match(st.draining, [{ server: '10.64.0.6:9243', host: H6 }]);
  t.ok(st.draining![0]!.until - st.draining![0]!.since === DRAIN_MS, 'drains for the configured period');
  t.equal(await metric(a.agent.url!), 1, 'poold_lvs_draining_servers counts it');

  await a.next((x) => x.reason === 'drain' && x.result === 'applied', since, DRAIN_MS + LATE_MARGIN_MS + 5000);
  const lines = linesSince(mark);
  t.same(lines.map((l) => l.line), ['-e -t 10.2.2.54:9243 -r 10.64.0.6 -i -w 0', '-d -t 10.2.2.54:9243 -r 10.64.0.6']);
  const gap = lines[1]!.at - lines[0]!.at;
  // Not early: measured from the depool's write (the agent cannot have started the drain before it).
  // The stand-in stamps each line after its own Node start-up, so the gap between the two stamps can
  // be shorter than the period when the first start-up was the slower one; t0 has no such skew.
  const sinceDepool = lines[1]!.at - t0;
  t.ok(sinceDepool >= DRAIN_MS, `the delete came ${Math.round(sinceDepool)} ms after the depool (period ${DRAIN_MS} ms): not early`);
  t.ok(gap <= DRAIN_MS + LATE_MARGIN_MS, `and not more than ${LATE_MARGIN_MS} ms late`);
  t.ok(lines[0]!.at - t0 < LATE_MARGIN_MS, 'the weight-0 edit came right after the depool');
  t.equal(a.agent.status().services.find((s) => s.service === PATH)!.draining, undefined);
  t.equal(await metric(a.agent.url!), 0);
});

t.test('a repool during the drain cancels it: the weight comes back and nothing is deleted', async (t) => {
  const mark = fake.log().length;
  let since = a.reports.length;
  await putState(kv, state({ [H5]: {}, [H6]: { pooledAdmin: 'no' }, [H7]: { pooledAdmin: 'no' } }));
  const r1 = await a.next((x) => x.result === 'applied', since);
  t.same(r1.commands, ['-e -t 10.2.2.54:9243 -r 10.64.0.7 -i -w 0']);
  since = a.reports.length;
  await putState(kv, state({ [H5]: {}, [H6]: { pooledAdmin: 'no' }, [H7]: { weight: 7 } }));
  const r2 = await a.next((x) => x.result === 'applied', since);
  t.same(r2.commands, ['-e -t 10.2.2.54:9243 -r 10.64.0.7 -i -w 7'], 'repooled with its (new) weight');
  t.equal(await metric(a.agent.url!), 0);
  // Wait past the old drain end: no delete may follow.
  await new Promise((res) => setTimeout(res, DRAIN_MS + 1000));
  await a.agent.reconcileNow();
  t.same(linesSince(mark).map((l) => l.line), ['-e -t 10.2.2.54:9243 -r 10.64.0.7 -i -w 0', '-e -t 10.2.2.54:9243 -r 10.64.0.7 -i -w 7']);
  t.match(fake.run(['-L', '-n']).stdout, /-> 10\.64\.0\.7:9243\s+Tunnel\s+7/);
});
