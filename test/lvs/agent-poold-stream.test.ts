// The LVS agent on poold's event stream (/v1/events), end to end: real etcd, a real poold Daemon
// checking simulated backends, the agent through an HTTP proxy the test controls, and the recording
// ipvsadm stand-in. The agent polls only every 30 s here, so a change applied within a few seconds
// can only have come through the stream.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { updateHosts } from '../../src/store/write.js';
import { readTable } from '../../src/lvs/apply.js';
import type { PooldSourceDetail } from '../../src/lvs/agent-poold.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { json, poolctl, poolsDir, serviceYaml, startDaemon, waitFor } from '../daemon/harness.js';
import { fakeIpvsadm, type FakeIpvsadm } from './fake-ipvsadm-helper.js';
import { startTestAgent, type TestAgent } from './agent-helpers.js';
import { startProxy } from './http-proxy.js';

const DC = 'eqiad';
const CLUSTER = 'ssec';
const SVC = 'ssesvc';
const PORT = 18347;
/** The LVS service (PyBal section) over the conftool pool ssec/ssesvc. */
const PATH = `${DC}/${SVC}_${PORT}`;
const HOSTS = [1, 2, 3, 4, 5].map((n) => `ss100${n}`);
const ADDR = (h: string) => `127.47.0.${Number(h.slice(-1))}`;
const VS = '10.2.2.47:18347';
const POLL_MS = 30_000;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: HOSTS.map((h) => ({ address: ADDR(h), port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: ${DC}\nservices:\n${serviceYaml({
    name: SVC, cluster: CLUSTER, ip: '10.2.2.47', port: PORT, threshold: 0.4,
    servers: Object.fromEntries(HOSTS.map((h) => [h, ADDR(h)])),
  })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);

let daemon: Daemon = await startDaemon(etcd.endpoints, { observer: 'sse-a' });
t.teardown(() => daemon.stop());

interface Detail { hosts: { host: string; effective: { pooled: boolean } }[] }
const pooledAt = async (base: string) => {
  const d = await json<Detail>(`${base}/v1/pools/${PATH}`);
  return d.hosts.filter((h) => h.effective.pooled).map((h) => h.host).sort();
};
await waitFor('poold to pool every host', () => pooledAt(daemon.url), (p) => p.length === HOSTS.length, 30_000);

const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const keys = new Keys();
/** An operator's write, through the store call poolctl makes (quicker than a poolctl process). */
const setPooled = (host: string, pooled: 'yes' | 'no') =>
  updateHosts(kv, [{ key: keys.host({ dc: DC, cluster: CLUSTER, service: SVC, host }), patch: { pooled } }], { keys, actor: 'test', reason: 'sse test' });

const proxy = await startProxy(daemon.url);
t.teardown(() => proxy.close());

async function agentVia(url: string, fake: FakeIpvsadm, over: Record<string, unknown> = {}): Promise<TestAgent> {
  const a = await startTestAgent(fake, { kind: 'poold', url, pollMs: POLL_MS, resyncMs: 600_000, streamRetryMs: 100, streamRetryMaxMs: 500, ...over }, { services: [PATH] });
  await a.next((r) => r.result === 'applied');
  return a;
}

/** `address weight` of every real server of the service, sorted. */
const tableOf = async (fake: FakeIpvsadm) => {
  const vs = (await readTable(fake.opts)).services.find((s) => `${s.address}:${s.port}` === VS);
  return (vs?.servers ?? []).map((s) => `${s.address} ${s.weight}`).sort();
};
const expectTable = (pooled: string[]) => pooled.map((h) => `${ADDR(h)} 10`).sort();
const detailOf = (a: TestAgent) => a.agent.status().source.detail as PooldSourceDetail;

const fake = fakeIpvsadm();
t.teardown(fake.cleanup);
const a = await agentVia(proxy.url, fake);
t.teardown(() => a.agent.stop());

t.test('a depool reaches ipvsadm through the stream, well before any poll', async (t) => {
  t.same(await tableOf(fake), expectTable(HOSTS));
  const d0 = detailOf(a);
  t.equal(d0.mode, 'stream');
  const poolRequests0 = proxy.requests.filter((u) => u.startsWith('/v1/pools')).length;
  const since = a.reports.length;
  const t0 = Date.now();
  await poolctl(['depool', 'ss1002', '--reason', 'sse test'], etcd.clientUrl);
  // 15 s is half the poll interval: only the stream can deliver this in time.
  const r = await a.next((x) => x.result === 'applied', since, 15_000);
  const tookMs = Date.now() - t0;
  t.equal(r.reason, 'change');
  t.same(r.commands, [`-d -t ${VS} -r ${ADDR('ss1002')}`]);
  t.ok(tookMs < 15_000, `applied ${tookMs} ms after poolctl depool started (poll interval ${POLL_MS} ms)`);
  const d1 = detailOf(a);
  t.ok(d1.inlineApplied > d0.inlineApplied, 'the pool came from the detail the event carried');
  t.equal(d1.poolFetches, d0.poolFetches, 'no pool re-fetch');
  t.equal(proxy.requests.filter((u) => u.startsWith('/v1/pools')).length, poolRequests0, 'poold was asked for nothing (as the proxy saw)');
  t.equal(d1.fullFetches, d0.fullFetches, 'no full re-fetch was needed');
  t.equal(d1.mode, 'stream');
});

t.test('a dropped stream resumes with Last-Event-ID: the changes made meanwhile all arrive, without a full re-fetch', async (t) => {
  const d0 = detailOf(a);
  const logMark = fake.log().length;
  proxy.setMode('down');
  await waitFor('the agent to notice the stream is gone', async () => detailOf(a).mode, (m) => m === 'poll');
  // Two changes while the agent is cut off from poold.
  await setPooled('ss1003', 'no');
  await setPooled('ss1002', 'yes');
  await waitFor('poold to publish both', () => pooledAt(daemon.url), (p) => p.join() === ['ss1001', 'ss1002', 'ss1004', 'ss1005'].join());
  t.equal(fake.log().slice(logMark).filter((e) => e.argv[0] === '-R').length, 0, 'nothing applied while cut off');
  t.equal(a.agent.status().source.healthy, false, 'its polls failed meanwhile: unhealthy (table frozen)');
  const since = a.reports.length;
  proxy.setMode('pass');
  await a.next((x) => x.result === 'applied', since, 15_000);
  await waitFor('the table to have both changes', () => tableOf(fake), (tb) => tb.join() === expectTable(['ss1001', 'ss1002', 'ss1004', 'ss1005']).join(), 15_000);
  const d1 = detailOf(a);
  t.equal(d1.resumes, d0.resumes + 1, 'the stream was resumed');
  t.equal(d1.fullFetches, d0.fullFetches, 'the replay carried the changes: no full re-fetch');
  // The replayed events carry poold's current detail (both changes), never the one of their time.
  t.ok(d1.inlineApplied > d0.inlineApplied, 'the replay was applied from the details it carried');
  t.equal(d1.inlineStale, d0.inlineStale, 'none of them older than what the agent had');
  t.ok(Number(d1.lastEventId) > Number(d0.lastEventId), 'and moved past the replayed ids');
  t.equal(d1.epoch, d0.epoch);
  t.equal(a.agent.status().source.healthy, true);
});

t.test('events evicted from poold\'s buffer while cut off: a gap, then a full re-fetch', async (t) => {
  const d0 = detailOf(a);
  proxy.setMode('down');
  await waitFor('the agent to notice the stream is gone', async () => detailOf(a).mode, (m) => m === 'poll');
  await setPooled('ss1004', 'no');
  await waitFor('poold to publish it', () => pooledAt(daemon.url), (p) => !p.includes('ss1004'));
  // A burst larger than the buffer (1000 events; a storm of check flips would do the same).
  for (let i = 0; i < 1100; i++) daemon.view.events.publish({ type: 'stale', pool: null, stale: false, sinceMs: null });
  const since = a.reports.length;
  proxy.setMode('pass');
  await a.next((x) => x.result === 'applied', since, 15_000);
  await waitFor('the table to lose ss1004', () => tableOf(fake), (tb) => tb.join() === expectTable(['ss1001', 'ss1002', 'ss1005']).join(), 15_000);
  t.ok(detailOf(a).fullFetches > d0.fullFetches, 'the gap made it re-fetch everything');
});

t.test('no stream to be had (404, then 500): polling carries the changes, and the stream is retried and taken up', async (t) => {
  const p2 = await startProxy(daemon.url);
  t.teardown(() => p2.close());
  p2.setMode('events-404');
  const fake2 = fakeIpvsadm();
  t.teardown(fake2.cleanup);
  const b = await agentVia(p2.url, fake2, { pollMs: 300, streamRetryMs: 100, streamRetryMaxMs: 400 });
  t.teardown(() => b.agent.stop());
  t.same(await tableOf(fake2), expectTable(['ss1001', 'ss1002', 'ss1005']), 'built from polling');
  t.equal(detailOf(b).mode, 'poll');
  t.equal(detailOf(b).streamOpens, 0);
  t.match(detailOf(b).streamError, /answered 404/);
  const since = b.reports.length;
  await setPooled('ss1004', 'yes');
  const r = await b.next((x) => x.result === 'applied', since);
  t.same(r.commands, [`-a -t ${VS} -r ${ADDR('ss1004')} -w 10`], 'applied from a poll');
  t.equal(detailOf(b).mode, 'poll');
  p2.setMode('events-500');
  const refused = p2.eventRequests.refused;
  await waitFor('the stream to be retried', async () => p2.eventRequests.refused, (n) => n >= refused + 2);
  t.match(detailOf(b).streamError, /answered 500/);
  p2.setMode('pass');
  await waitFor('the agent to take the stream up', async () => detailOf(b).mode, (m) => m === 'stream', 5000);
  t.equal(detailOf(b).streamOpens, 1);
  // Keep the main agent in step for the next test.
  await waitFor('the main agent to have ss1004 back', () => tableOf(fake), (tb) => tb.includes(`${ADDR('ss1004')} 10`), 15_000);
});

t.test('poold down: the table stays as it is (hand edits too); poold back (a new process): full re-fetch, repaired', async (t) => {
  const d0 = detailOf(a);
  await daemon.stop();
  await waitFor('the agent to notice', async () => a.agent.status().source.healthy, (h) => h === false);
  const since = a.reports.length;
  await a.agent.reconcileNow();
  const down = await a.next((x) => x.reason === 'period', since);
  t.equal(down.result, 'source-down');
  t.match(down.error, /poold unavailable/);
  fake.run(['-e', '-t', VS, '-r', ADDR('ss1001'), '-w', '3']);
  const mark = fake.log().length;
  await a.agent.reconcileNow();
  t.equal(fake.log().length, mark, 'nothing run while poold is down: not even the hand edit is repaired');
  t.same(await tableOf(fake), [`${ADDR('ss1001')} 3`, ...expectTable(['ss1002', 'ss1004', 'ss1005'])]);

  await setPooled('ss1003', 'yes');
  daemon = await startDaemon(etcd.endpoints, { observer: 'sse-a' });
  await waitFor('the new poold to pool every host', () => pooledAt(daemon.url), (p) => p.length === HOSTS.length, 30_000);
  // The new process's ids started over at 1, and its event for ss1003 is among the first. Let the ids
  // pass the one the agent will resume from, so that poold itself sees no gap: only the epoch tells
  // the agent that a replay "after its id" would skip that event.
  const resumeFrom = Number(detailOf(a).lastEventId);
  while (daemon.view.events.lastId < resumeFrom + 10) daemon.view.events.publish({ type: 'stale', pool: null, stale: false, sinceMs: null });
  proxy.upstream = daemon.url;
  await waitFor('the table repaired and complete', () => tableOf(fake), (tb) => tb.join() === expectTable(HOSTS).join(), 15_000);
  const d1 = detailOf(a);
  t.not(d1.epoch, d0.epoch, 'another poold process');
  t.ok(d1.fullFetches > d0.fullFetches, 'a new epoch: full re-fetch rather than a replay');
  t.equal(d1.mode, 'stream');
  t.equal(a.agent.status().source.healthy, true);
});
