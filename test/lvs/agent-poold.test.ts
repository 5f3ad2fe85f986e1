// Agent source B: polling poold's real JSON API (src/api, fed through its PoolView) instead of etcd.
// Polling only (stream: false), the fallback when /v1/events cannot be had; the event stream is
// tested end to end in agent-poold-stream.test.ts.
import t from 'tap';
import { PoolView } from '../../src/api/state-view.js';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { poolState, serviceDef } from './lvs-fixtures.js';
import { startTestAgent } from './agent-helpers.js';

// Hosts without an address in pools/ are resolved by the agent (stubbed here, no DNS).
const ADDRESSES: Record<string, string> = { 'web1.test': '10.64.0.1', 'web2.test': '10.64.0.2', 'web3.test': '10.64.0.3' };
const def = serviceDef({ service: 'web', servers: { 'web1.test': undefined, 'web2.test': undefined, 'web3.test': undefined } });
const view = new PoolView();
view.setService(def);
view.setState(poolState(def, { 'web1.test': {}, 'web2.test': {}, 'web3.test': { weight: 5 } }, 1));
let api: RunningApi = await startApi({ view, port: 0 });
const port = api.port;
t.teardown(() => api.close());

const fake = fakeIpvsadm();
t.teardown(fake.cleanup);
const a = await startTestAgent(fake, { kind: 'poold', url: `http://127.0.0.1:${port}`, pollMs: 50, stream: false }, {
  services: ['eqiad/web'],
  resolve: async (host, family) => (family === 4 ? ADDRESSES[host] : undefined),
});
t.teardown(() => a.agent.stop());
const restoresSince = (mark: number) => fake.log().slice(mark).filter((e) => e.argv[0] === '-R').map((e) => e.stdin);

t.test('builds the table from the API', async (t) => {
  await a.next((r) => r.result === 'applied');
  t.same(restoresSince(0), [
    '-A -t 10.2.2.18:8080 -s wrr\n-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 10\n-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10\n-a -t 10.2.2.18:8080 -r 10.64.0.3 -w 5\n',
  ]);
});

t.test('a new state revision is picked up by the poll', async (t) => {
  const mark = fake.log().length;
  const since = a.reports.length;
  view.setState(poolState(def, { 'web1.test': {}, 'web2.test': { up: false, pooled: false }, 'web3.test': { weight: 0 } }, 2));
  const r = await a.next((x) => x.result === 'applied', since);
  t.equal(r.reason, 'change');
  t.same(restoresSince(mark), ['-e -t 10.2.2.18:8080 -r 10.64.0.3 -w 0\n-d -t 10.2.2.18:8080 -r 10.64.0.2\n']);
});

t.test('an unresolvable pooled host leaves the service alone', async (t) => {
  const mark = fake.log().length;
  const since = a.reports.length;
  view.setState(poolState(def, { 'web1.test': {}, 'web2.test': {}, 'web3.test': { weight: 0 }, 'web9.test': {} }, 3));
  const r = await a.next((x) => x.reason === 'change', since);
  t.match(r.services[0], { service: 'eqiad/web', skipped: /pooled host web9.test has no address/ });
  t.same(restoresSince(mark), []);
  view.setState(poolState(def, { 'web1.test': {}, 'web2.test': { up: false, pooled: false }, 'web3.test': { weight: 0 } }, 4));
  await a.next((x) => x.reason === 'change' && !x.services[0]?.skipped, since);
});

t.test('a definition change without a new state revision is seen by the periodic full fetch', async (t) => {
  const mark = fake.log().length;
  const since = a.reports.length;
  view.setService({ ...def, lvs: { ...def.lvs, scheduler: 'sh' } });
  await a.next((x) => x.result === 'applied', since);
  t.same(restoresSince(mark), ['-E -t 10.2.2.18:8080 -s sh\n']);
});

t.test('poold unreachable: table frozen; back: hand edit repaired', async (t) => {
  await api.close();
  const since = a.reports.length;
  await a.agent.reconcileNow();
  const down = await a.next((x) => x.reason === 'period', since);
  t.equal(down.result, 'source-down');
  t.match(down.error, /poold unavailable: cannot reach poold at http:\/\/127\.0\.0\.1:\d+\/v1\/pools/);
  fake.run(['-e', '-t', '10.2.2.18:8080', '-r', '10.64.0.1', '-w', '3']);
  const mark = fake.log().length;
  await a.agent.reconcileNow();
  t.equal(fake.log().length, mark, 'nothing run while poold is down');
  t.equal(a.agent.status().source.healthy, false);

  api = await startApi({ view, port });
  const r = await a.next((x) => x.result === 'applied', since);
  t.equal(r.reason, 'reconnect');
  t.same(restoresSince(mark), ['-e -t 10.2.2.18:8080 -r 10.64.0.1 -w 10\n']);
});

t.test('addresses given in pools/ come through the API: no DNS needed', async (t) => {
  const withAddr = serviceDef({ service: 'web', lvs: { scheduler: 'sh' }, servers: { 'web1.test': undefined, 'web2.test': undefined, 'web3.test': undefined, 'db7.test': '10.64.9.7' } });
  const mark = fake.log().length;
  const since = a.reports.length;
  view.setService(withAddr);
  view.setState(poolState(withAddr, { 'web1.test': {}, 'web2.test': { up: false, pooled: false }, 'web3.test': { weight: 0 }, 'db7.test': {} }, 6));
  const r = await a.next((x) => x.result === 'applied', since);
  t.notOk(r.services[0]?.skipped, 'the stub resolver knows nothing of db7.test, yet the service is not skipped');
  t.same(restoresSince(mark).join(''), '-a -t 10.2.2.18:8080 -r 10.64.9.7 -w 10\n');
});
