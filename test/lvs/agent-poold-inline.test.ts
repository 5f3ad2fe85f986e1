// The LVS agent on poold's event stream with the pool's detail inside each `pool` event
// (/v1/events?detail=1), end to end: real etcd, a real poold Daemon checking simulated backends,
// the agent through an HTTP proxy the test controls (which can play an older poold, corrupt the
// details going through, or slip in an old event), and the recording ipvsadm stand-in. The agent
// polls only every 30 s, so a change applied within seconds came through the stream.
import t, { type Test } from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { updateHosts } from '../../src/store/write.js';
import { readTable } from '../../src/lvs/apply.js';
import type { PooldSourceDetail } from '../../src/lvs/agent-poold.js';
import { json, poolctl, poolsDir, serviceYaml, startDaemon, waitFor } from '../daemon/harness.js';
import { fakeIpvsadm, type FakeIpvsadm } from './fake-ipvsadm-helper.js';
import { startTestAgent, type TestAgent } from './agent-helpers.js';
import { startProxy, type PoolFrame, type TestProxy } from './http-proxy.js';

const DC = 'eqiad';
const CLUSTER = 'inlc';
const SVC = 'inlsvc';
const PORT = 18348;
/** The LVS service (PyBal section) over the conftool pool inlc/inlsvc. */
const PATH = `${DC}/${SVC}_${PORT}`;
const HOSTS = [1, 2, 3, 4, 5].map((n) => `in100${n}`);
const ADDR = (h: string) => `127.48.0.${Number(h.slice(-1))}`;
const VS = `10.2.2.48:${PORT}`;
const POLL_MS = 30_000;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: HOSTS.map((h) => ({ address: ADDR(h), port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: ${DC}\nservices:\n${serviceYaml({
    name: SVC, cluster: CLUSTER, ip: '10.2.2.48', port: PORT, threshold: 0.4,
    servers: Object.fromEntries(HOSTS.map((h) => [h, ADDR(h)])),
  })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);

const daemon = await startDaemon(etcd.endpoints, { observer: 'inline-a' });
t.teardown(() => daemon.stop());

interface Detail { revision: number; hosts: { host: string; effective: { pooled: boolean } }[] }
const pooledAt = async () => {
  const d = await json<Detail>(`${daemon.url}/v1/pools/${PATH}`);
  return d.hosts.filter((h) => h.effective.pooled).map((h) => h.host).sort();
};
await waitFor('poold to pool every host', pooledAt, (p) => p.length === HOSTS.length, 30_000);

const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const keys = new Keys();
/** An operator's write, through the store call poolctl makes. */
const setPooled = (host: string, pooled: 'yes' | 'no') =>
  updateHosts(kv, [{ key: keys.host({ dc: DC, cluster: CLUSTER, service: SVC, host }), patch: { pooled } }], { keys, actor: 'test', reason: 'inline test' });

/** `address weight` of every real server of the service, sorted. */
const tableOf = async (fake: FakeIpvsadm) => {
  const vs = (await readTable(fake.opts)).services.find((s) => `${s.address}:${s.port}` === VS);
  return (vs?.servers ?? []).map((s) => `${s.address} ${s.weight}`).sort();
};
const expectTable = (pooled: string[]) => pooled.map((h) => `${ADDR(h)} 10`).sort();
const detailOf = (a: TestAgent) => a.agent.status().source.detail as PooldSourceDetail;
const poolGets = (p: TestProxy) => p.requests.filter((u) => u.startsWith('/v1/pools/')).length;

async function agentVia(proxy: TestProxy, t: Test): Promise<{ a: TestAgent; fake: FakeIpvsadm }> {
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const a = await startTestAgent(fake, { kind: 'poold', url: proxy.url, pollMs: POLL_MS, resyncMs: 600_000, streamRetryMs: 100, streamRetryMaxMs: 500 }, { services: [PATH] });
  t.teardown(() => a.agent.stop());
  await a.next((r) => r.result === 'applied');
  return { a, fake };
}

/** Changes one host and waits for the agent to apply exactly that. */
async function flip(t: Test, a: TestAgent, host: string, pooled: 'yes' | 'no'): Promise<void> {
  const since = a.reports.length;
  await setPooled(host, pooled);
  const r = await a.next((x) => x.result === 'applied', since, 15_000);
  if (pooled === 'no') t.same(r.commands, [`-d -t ${VS} -r ${ADDR(host)}`], `${host} depooled through the stream`);
  else t.same(r.commands, [`-a -t ${VS} -r ${ADDR(host)} -w 10`], `${host} repooled through the stream`);
}

t.test('an older poold (400 on ?detail=1): the stream is reopened without it at once, and events are followed by re-fetches', async (t) => {
  const proxy = await startProxy(daemon.url);
  t.teardown(() => proxy.close());
  proxy.setMode('old-poold');
  const { a, fake } = await agentVia(proxy, t);
  t.same(await tableOf(fake), expectTable(HOSTS));
  const d0 = detailOf(a);
  t.equal(d0.mode, 'stream', 'the stream is up, without details');
  t.equal(d0.servicesRefused, 1, 'services= refused first (the newest parameter goes first)');
  t.equal(d0.detailRefused, 1, 'then detail= refused once');
  t.match(d0.inlineError, /answered 400/);
  t.ok(proxy.requests.some((u) => u.startsWith('/v1/events') && !u.includes('detail=')), 'reopened without detail=');

  await flip(t, a, 'in1002', 'no');
  const d1 = detailOf(a);
  t.equal(d1.inlineApplied, d0.inlineApplied, 'nothing came inline');
  t.ok(d1.poolFetches > d0.poolFetches, 'the pool was re-fetched, as before details');
  t.ok(poolGets(proxy) > 0, 'poold saw the GET');
  t.equal(d1.fullFetches, d0.fullFetches);

  // poold upgraded: the next reconnection asks for details again and gets them.
  proxy.setMode('pass');
  proxy.cut();
  await waitFor('the agent to reconnect with details', async () => detailOf(a).streamOpens, (n) => n > d1.streamOpens, 10_000);
  const gets = poolGets(proxy);
  await flip(t, a, 'in1002', 'yes');
  const d2 = detailOf(a);
  t.ok(d2.inlineApplied > d1.inlineApplied, 'taken from the event now');
  t.equal(poolGets(proxy), gets, 'with no GET of the pool');
  t.equal(d2.detailRefused, 1);
});

t.test('the stream asks for the agent\'s own services; a poold before services= (400) is followed without it, details still inline', async (t) => {
  const proxy = await startProxy(daemon.url);
  t.teardown(() => proxy.close());
  proxy.setMode('pre-services-poold');
  const { a, fake } = await agentVia(proxy, t);
  t.same(await tableOf(fake), expectTable(HOSTS));
  const d0 = detailOf(a);
  t.equal(d0.mode, 'stream');
  t.equal(d0.servicesRefused, 1, 'services= refused once');
  t.equal(d0.detailRefused, 0, 'details were not given up');
  const events = proxy.requests.filter((u) => u.startsWith('/v1/events'));
  t.ok(events.length > 0 && events.every((u) => u.includes('detail=1') && !u.includes('services=')), `reopened with detail=1 and without services=: ${events.join(' ')}`);
  const gets0 = poolGets(proxy);
  await flip(t, a, 'in1003', 'no');
  const d1 = detailOf(a);
  t.ok(d1.inlineApplied > d0.inlineApplied, 'the change came inline');
  t.equal(poolGets(proxy), gets0, 'with no GET of the pool');

  // poold upgraded: the next reconnection asks for the agent's services and gets its events.
  proxy.setMode('pass');
  proxy.cut();
  await waitFor('the agent to reconnect with services=', async () => detailOf(a).streamOpens, (n) => n > d1.streamOpens, 10_000);
  const asked = proxy.requests.filter((u) => u.startsWith('/v1/events')).at(-1)!;
  t.equal(new URL(asked, 'http://x').searchParams.get('services'), PATH, 'the stream names the agent\'s service');
  await flip(t, a, 'in1003', 'yes');
  t.ok(detailOf(a).inlineApplied > d1.inlineApplied, 'its events still come, inline');
  t.equal(detailOf(a).servicesRefused, 1);
});

t.test('a detail that does not decode: that pool is re-fetched instead, and the change still applies', async (t) => {
  const proxy = await startProxy(daemon.url);
  t.teardown(() => proxy.close());
  const { a, fake } = await agentVia(proxy, t);
  t.same(await tableOf(fake), expectTable(HOSTS));
  proxy.rewritePool = (data) => (data.detail === undefined ? data : { ...data, detail: { ...(data.detail as object), hosts: 'corrupt' } });
  const d0 = detailOf(a);
  const gets = poolGets(proxy);
  await flip(t, a, 'in1003', 'no');
  const d1 = detailOf(a);
  t.ok(proxy.poolFrames.some((f) => (f.data.detail as { hosts?: unknown } | undefined)?.hosts === 'corrupt'), 'the agent was sent a corrupt detail');
  t.ok(d1.inlineRejected > d0.inlineRejected, 'rejected by the decoder');
  t.match(d1.inlineError, /hosts/, 'the decoder says what is wrong');
  t.equal(d1.inlineApplied, d0.inlineApplied, 'not applied');
  t.ok(d1.poolFetches > d0.poolFetches && poolGets(proxy) > gets, 'fetched instead');
  t.equal(a.agent.status().source.healthy, true, 'a bad detail is not an outage');
  t.same(await tableOf(fake), expectTable(HOSTS.filter((h) => h !== 'in1003')));
  proxy.rewritePool = undefined;
  await flip(t, a, 'in1003', 'yes');
  t.ok(detailOf(a).inlineApplied > d1.inlineApplied, 'good details are used again');
});

t.test('an old detail arriving after a newer state (a replayed or late event) never wins: re-fetched instead', async (t) => {
  const proxy = await startProxy(daemon.url);
  t.teardown(() => proxy.close());
  const { a, fake } = await agentVia(proxy, t);
  const framesBefore = proxy.poolFrames.length;
  await flip(t, a, 'in1004', 'no');
  const old = proxy.poolFrames.slice(framesBefore).find((f) => f.data.detail !== undefined);
  if (!old) throw new Error('no pool event with a detail came through');
  const oldRevision = (old.data.detail as Detail).revision;
  await flip(t, a, 'in1004', 'yes');
  t.same(await tableOf(fake), expectTable(HOSTS));
  const known = a.agent.status().services.find((s) => s.service === PATH)?.revision;
  t.ok(typeof known === 'number' && known > oldRevision, `the agent has revision ${known}, the old detail ${oldRevision}`);

  const d0 = detailOf(a);
  const mark = fake.log().length;
  const gets = poolGets(proxy);
  // The depool's event again, with its old detail, under the id the agent is at (so the resume
  // position is unchanged): what a replay of old details, or a detail overtaken by a fetch, would be.
  const frame: PoolFrame = { id: d0.lastEventId ?? '0', data: old.data };
  proxy.inject(frame);
  await waitFor('the agent to handle the old detail', async () => detailOf(a), (d) => d.inlineStale > d0.inlineStale || d.inlineApplied > d0.inlineApplied, 10_000);
  await waitFor('the re-fetch it makes instead', async () => detailOf(a).poolFetches, (n) => n > d0.poolFetches, 10_000);
  const d1 = detailOf(a);
  t.equal(d1.inlineStale, d0.inlineStale + 1, 'seen as older than the known revision');
  t.equal(d1.inlineApplied, d0.inlineApplied, 'not applied');
  t.match(d1.inlineError, new RegExp(`revision ${oldRevision}, older than the known ${known}`));
  t.ok(poolGets(proxy) > gets, 'poold was asked for the current detail');
  await a.agent.reconcileNow();
  t.same(await tableOf(fake), expectTable(HOSTS), 'in1004 stays pooled');
  t.equal(fake.log().slice(mark).filter((e) => e.argv[0] === '-R').length, 0, 'nothing was applied');
});
