// A poold killed (SIGKILL) and started again must not flap the pools it coordinates: it starts from
// the published state (health included), its checks start from the published health, and its
// leader keeps the last verdicts until observations arrive. Here a down host is kept pooled by the
// threshold; across the restart every published state, and every state event of the new process,
// must keep every host's up/pooled/enabled exactly as before.
import t from 'tap';
import { Etcd3 } from 'etcd3';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { lines, poolctl, poolsDir, serviceYaml, sleep, spawnPoold, stopPoold, text, waitFor } from './harness.js';
import { publishedState } from '../helpers/published.js';

const PORT = 8085;
const A = ['127.0.65.1', '127.0.65.2', '127.0.65.3'];
const H = ['rs1001.eqiad.wmnet', 'rs1002.eqiad.wmnet', 'rs1003.eqiad.wmnet'];
const STATE_KEY = '/poold/v1/state/eqiad/rssvc_8085';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const sim = await startSimulator({ backends: A.map((address, i) => ({ address, port: PORT, behaviour: i === 2 ? 'refused' as const : 'ok' as const })) });
t.teardown(() => sim.stop());
// Threshold .7 of 3: 2.1 up-and-enabled needed, so the down rs1003 is kept pooled. A 1 s interval
// so that the restarted process becomes leader and publishes around its first check round.
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'rssvc', cluster: 'rsc', ip: '10.9.65.1', port: PORT, threshold: 0.7, interval: '1s', servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);

const KEPT = lines(`${H[0]}:\tenabled/up/pooled\n${H[1]}:\tenabled/up/pooled\n${H[2]}:\tenabled/down/pooled\n`);
type Servers = Record<string, { up: boolean; pooled: boolean; enabled: boolean }>;
const essence = (state: { servers: Servers } | undefined) => {
  const s = state?.servers ?? {};
  return Object.fromEntries(Object.keys(s).sort().map((h) => [h, { up: s[h].up, pooled: s[h].pooled, enabled: s[h].enabled }]));
};

const first = await spawnPoold(etcd.clientUrl, 'rs-a');
t.teardown(() => stopPoold(first, 'SIGKILL'));

t.test('restart after SIGKILL publishes nothing that depools or repools', async (t) => {
  t.same(lines(await waitFor('rs1003 kept pooled', () => text(`${first.url}/pools/rssvc_8085`), (b) => lines(b).join() === KEPT.join(), 20_000)), KEPT);
  const before = await kv.get(STATE_KEY);
  if (before === undefined) throw new Error('no published state');
  const expected = essence(await publishedState(kv, 'eqiad/rssvc_8085', before.modRevision));
  t.same(expected, {
    [H[0]]: { up: true, pooled: true, enabled: true },
    [H[1]]: { up: true, pooled: true, enabled: true },
    [H[2]]: { up: false, pooled: true, enabled: true },
  });

  // Every write of the state's header from now on, straight from etcd: each is one publication
  // (header and server keys), read back whole at its revision below.
  const client = new Etcd3({ hosts: etcd.endpoints });
  t.teardown(() => client.close());
  const published: number[] = [];
  const watcher = await client.watch().key(STATE_KEY).startRevision(String(before.modRevision + 1)).create();
  watcher.on('put', (kvp) => published.push(Number(kvp.mod_revision)));
  t.teardown(() => watcher.cancel());

  await stopPoold(first, 'SIGKILL');
  const second = await spawnPoold(etcd.clientUrl, 'rs-a');
  t.teardown(() => stopPoold(second));
  // The new process's own view of state changes, from its start (the buffer is replayed).
  const all: Array<{ type: string; host: string; after: { up: boolean; pooled: boolean; enabled: boolean } | null }> = [];
  const ac = new AbortController();
  const sse = fetch(`${second.url}/v1/events?types=state,admin`, { signal: ac.signal }).then(async (r) => {
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data) all.push(JSON.parse(data.slice(6)));
      }
    }
  }).catch((err: unknown) => { if (!ac.signal.aborted) throw err; });

  t.same(lines(await text(`${second.url}/pools/rssvc_8085`)), KEPT, 'serves the published state at once');
  // Long enough for the old lease (2 s) to expire, the new leader to take over and publish, and
  // several check rounds (1 s) of the new observer.
  await waitFor('the restarted poold to lead', async () => (JSON.parse(await text(`${second.url}/v1/pools`)) as { leadership: { leader: boolean } }).leadership.leader, (l) => l, 15_000);
  await sleep(3500);
  ac.abort();
  await sse;

  t.same(lines(await text(`${second.url}/pools/rssvc_8085`)), KEPT, 'still kept after the restart');
  t.ok(published.length > 0, `the new leader published (${published.length} times)`);
  for (const rev of published) t.same(essence(await publishedState(kv, 'eqiad/rssvc_8085', rev)), expected, `the state published at revision ${rev}, across the restart`);
  const events = all.filter((e) => e.type === 'state');
  // The admin values were only listed at start, not changed: no admin event (nor an audit read).
  t.same(all.filter((e) => e.type === 'admin'), [], 'no admin events for values merely listed at start');
  const flips = events.filter((e) => e.after !== null && JSON.stringify(e.after && { up: e.after.up, pooled: e.after.pooled, enabled: e.after.enabled }) !== JSON.stringify(expected[e.host]));
  t.same(flips, [], 'no state event of the new process changes up/pooled/enabled');
  t.ok(events.length >= 3, `the event stream was read (${events.length} state events)`);
  t.equal(await text(`${second.url}/alerts`), `CRITICAL - rssvc_8085: Servers ${H[2]} are marked down but pooled`);
  // The host is still really checked by the new process: when it recovers it is seen up.
  await sim.setBehaviour(A[2], PORT, 'ok');
  await waitFor('rs1003 up', () => text(`${second.url}/pools/rssvc_8085/${H[2]}`), (b) => b === 'enabled/up/pooled\n', 10_000);
  // At --log-level info the daemon logs its own events, but not fastify's line per request.
  t.match(second.output(), /"msg":"elected leader: coordinating pools"/);
  t.notMatch(second.output(), /incoming request|request completed/, 'no per-request logs');
});
