// /v1/events?detail=1: `pool` events carry the service's GET /v1/pools/:dc/:name body, serialized
// by that route's serializer and schema (byte for byte the same text), the CURRENT one when the
// event is written (a replay never hands out a detail older than a later event's), and none for a
// removed pool. Over a real loopback socket, read with the agent's own SSE client.
import t, { type Test } from 'tap';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { openSse, type SseRecord } from '../../src/lvs/agent-sse.js';
import { PoolView } from '../../src/api/state-view.js';
import type { PoolState, ServiceKey } from '../../src/model/types.js';
import { CX, cxState, cxView, poolRefOf, result, server, serviceDef } from './fixtures.js';

const NOW = 1_700_000_100_000;

/** Records of one stream, waited for by predicate. */
function follow(api: RunningApi, query: string, headers: Record<string, string> = {}) {
  const records: SseRecord[] = [];
  const waiters = new Set<() => void>();
  let status: string | undefined;
  const s = openSse(
    { url: new URL(`http://127.0.0.1:${api.port}/v1/events?${query}`), headers },
    {
      open: () => undefined,
      comment: () => undefined,
      record: (r) => {
        records.push(r);
        for (const w of waiters) w();
      },
      end: (why) => {
        status = why.message;
        for (const w of waiters) w();
      },
    },
  );
  return {
    records,
    get ended() {
      return status;
    },
    close: () => s.close(),
    async until(pred: (rs: SseRecord[]) => boolean, ms = 3000): Promise<SseRecord[]> {
      const deadline = Date.now() + ms;
      while (!pred(records)) {
        if (status !== undefined) throw new Error(`stream ended: ${status}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out; records: ${JSON.stringify(records.map((r) => r.event))}`);
        await new Promise<void>((resolve) => {
          const w = () => {
            waiters.delete(w);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(w, left);
          waiters.add(w);
        });
      }
      return records;
    },
  };
}

/** The `detail` member's text as sent (it is the last member of the event's JSON). */
function detailText(r: SseRecord): string | undefined {
  const i = r.data.indexOf(',"detail":');
  return i < 0 ? undefined : r.data.slice(i + ',"detail":'.length, -1);
}

const routeBody = async (api: RunningApi) => (await fetch(`http://127.0.0.1:${api.port}/v1/pools/${CX.dc}/${CX.name}`)).text();

/**
 * eqiad's kubesvc shape: `n` sections over one 240-host pool, each defined and published at revision 1
 * in a fresh view. `stateOf(key, revision, depooled)` builds a section's state with one host depooled.
 */
function kubesvcSections(n: number) {
  const hosts = Array.from({ length: 240 }, (_, i) => `kubernetes${1000 + i}.eqiad.wmnet`);
  const keys: ServiceKey[] = Array.from({ length: n }, (_, i) => ({ dc: 'eqiad', name: `kubesvc${i}_${4000 + i}` }));
  const stateOf = (key: ServiceKey, revision: number, depooled?: string): PoolState => ({
    ...key,
    pool: poolRefOf(key),
    revision,
    updatedAt: 1_700_000_000_000,
    depoolThreshold: 0.5,
    servers: Object.fromEntries(hosts.map((h) => [h, server(h === depooled ? { pooledAdmin: 'no', enabled: false, pooled: false } : {})])),
    pooledDown: [],
  });
  const view = new PoolView({ now: () => NOW });
  for (const k of keys) {
    view.setService(serviceDef(k, hosts));
    view.setState(stateOf(k, 1));
  }
  return { hosts, keys, stateOf, view };
}

async function setup(t: Test): Promise<{ view: PoolView; api: RunningApi }> {
  const view = cxView({ now: () => NOW });
  const api = await startApi({ view, port: 0, now: () => NOW });
  t.teardown(() => api.close());
  return { view, api };
}

t.test('live: the detail is the pool-detail route\'s body, byte for byte; without detail=1 there is none', async (t) => {
  const { view, api } = await setup(t);
  const withDetail = follow(api, 'types=pool&replay=0&detail=1');
  const without = follow(api, 'types=pool&replay=0');
  t.teardown(() => (withDetail.close(), without.close()));
  await new Promise((r) => setTimeout(r, 100)); // both subscribed
  view.setState(cxState(2, { 'sca1004.eqiad.wmnet': { up: true, pooled: true, reason: 'ok' } }));
  const [ev] = await withDetail.until((rs) => rs.length >= 1);
  const [plain] = await without.until((rs) => rs.length >= 1);
  const body = await routeBody(api);
  t.equal(detailText(ev!), body, 'the same text GET /v1/pools/eqiad/cxserver answers');
  const parsed = JSON.parse(ev!.data) as { type: string; change: string; revision: number; detail: { revision: number; hosts: { host: string; effective: { pooled: boolean } }[] } };
  t.match(parsed, { type: 'pool', change: 'state', revision: 2 });
  t.equal(parsed.detail.revision, 2);
  t.equal(parsed.detail.hosts.find((h) => h.host === 'sca1004.eqiad.wmnet')?.effective.pooled, true, 'the state the event announces');
  t.equal(detailText(plain!), undefined, 'no detail unless asked');
  const { detail: _detail, ...rest } = parsed;
  t.same(JSON.parse(plain!.data), rest, 'otherwise the same event');

  // A definition change carries the new definition.
  const def = view.get(CX)!.def!;
  view.setService({ ...def, lvs: { ...def.lvs, scheduler: 'sh' } });
  const defEv = (await withDetail.until((rs) => rs.length >= 2))[1]!;
  t.match(JSON.parse(defEv.data), { change: 'definition', detail: { lvs: { scheduler: 'sh' } } });

  // A removed pool: nothing to carry.
  view.removeService(CX);
  const gone = (await withDetail.until((rs) => rs.length >= 3))[2]!;
  t.match(JSON.parse(gone.data), { type: 'pool', change: 'removed' });
  t.equal(detailText(gone), undefined, 'no detail for a removed pool');
});

t.test('replay after Last-Event-ID: every replayed pool event carries the current detail, never the one of its time', async (t) => {
  const { view, api } = await setup(t);
  const from = view.events.lastId;
  view.setState(cxState(3, { 'sca1004.eqiad.wmnet': { up: true, pooled: true, reason: 'ok' } }));
  view.setState(cxState(4, { 'sca1004.eqiad.wmnet': { up: true, pooled: true, reason: 'ok' }, 'sca1001.eqiad.wmnet': { pooledAdmin: 'no', enabled: false, pooled: false } }));
  const s = follow(api, 'types=pool&detail=1', { 'last-event-id': String(from) });
  t.teardown(() => s.close());
  const rs = await s.until((x) => x.length >= 2);
  const events = rs.map((r) => JSON.parse(r.data) as { revision: number; detail: { revision: number } });
  t.same(events.map((e) => e.revision), [3, 4], 'both replayed, in order, each naming the revision it announced');
  t.same(events.map((e) => e.detail.revision), [4, 4], 'both carry the current detail (revision 4): the first never rolls the second back');
  const body = await routeBody(api);
  t.same(rs.map(detailText), [body, body]);
});

t.test('?detail= other than 0 or 1 is a 400, as any bad parameter', async (t) => {
  const { api } = await setup(t);
  const res = await fetch(`http://127.0.0.1:${api.port}/v1/events?detail=2`);
  t.equal(res.status, 400);
  t.match(await res.json(), { error: 'bad_request', where: 'querystring.detail' });
});

t.test('a burst far over the 1 MiB slow-client cut-off (one host of a pool many sections share): details while the backlog has room, then plain events; never cut off, live or replayed', async (t) => {
  // eqiad's kubesvc: 44 sections over one 240-host pool. Bigger here, so the burst outgrows any
  // socket buffer: the test's client reads only once the synchronous burst is over.
  const N = 80;
  const { hosts, keys, stateOf, view } = kubesvcSections(N);
  for (const k of keys) for (const h of hosts) view.setVerdict({ ...k, host: h }, 'tcp', result(true), 1_700_000_000_000);
  const api = await startApi({ view, port: 0, now: () => NOW });
  t.teardown(() => api.close());
  const detailBytes = (await (await fetch(`http://127.0.0.1:${api.port}/v1/pools/eqiad/${keys[0]!.name}`)).text()).length;
  t.ok(detailBytes * N > 4 * (1 << 20), `the burst's details add up to ${Math.round((detailBytes * N) / (1 << 20))} MiB`);

  const live = follow(api, 'types=pool&replay=0&detail=1');
  t.teardown(() => live.close());
  await new Promise((r) => setTimeout(r, 100));
  const before = view.events.lastId;
  for (const k of keys) view.setState(stateOf(k, 2, hosts[0]));
  const rs = await live.until((x) => x.length >= N, 30_000);
  t.equal(live.ended, undefined, 'the stream is still open: not cut off as a slow client');
  const parsed = rs.map((r) => JSON.parse(r.data) as { pool: ServiceKey; revision: number; detail?: { revision: number } });
  t.same(parsed.map((e) => e.pool.name), keys.map((k) => k.name), 'every event, in order');
  const carried = parsed.filter((e) => e.detail !== undefined);
  t.ok(carried.length >= 1 && carried.length < N, `${carried.length} of ${N} carried their detail, the rest go without (re-fetched)`);
  t.ok(carried.every((e) => e.detail!.revision === 2));

  const replay = follow(api, 'types=pool&detail=1', { 'last-event-id': String(before) });
  t.teardown(() => replay.close());
  const rr = await replay.until((x) => x.length >= N, 30_000);
  t.equal(replay.ended, undefined, 'the replay of the burst does not get it cut off either');
  t.same(rr.map((r) => (JSON.parse(r.data) as { pool: ServiceKey }).pool.name), keys.map((k) => k.name));
});

t.test('?services=: only the listed LVS services\' events, so a burst for 80 sections costs an agent of one section only its own, with its detail', async (t) => {
  const { hosts, keys, stateOf, view } = kubesvcSections(80);
  const api = await startApi({ view, port: 0, now: () => NOW });
  t.teardown(() => api.close());
  const mine = keys[70]!;
  const other = keys[3]!;
  const s = follow(api, `replay=0&detail=1&services=${mine.dc}/${mine.name},codfw/${mine.name}`);
  t.teardown(() => s.close());
  await new Promise((r) => setTimeout(r, 100));
  // Every section's state changes (pool events), then leadership (for everyone).
  for (const k of keys) view.setState(stateOf(k, 2, hosts[0]));
  // conftool admin changes of the listed section's pool and of another's.
  const admin = (k: ServiceKey) => view.recordAdminChange({ dc: k.dc, ...poolRefOf(k), host: hosts[1]! }, { pooled: 'yes', weight: 10 }, { pooled: 'no', weight: 10 });
  t.ok(admin(other) && admin(mine), 'both admin changes are in scope');
  view.setLeadership({ leader: true, leaderId: 'me' });
  const rs = await s.until((x) => x.some((r) => r.event === 'leadership'), 10_000);
  const pools = rs.filter((r) => r.event === 'pool').map((r) => JSON.parse(r.data) as { pool: ServiceKey; detail?: { revision: number } });
  t.same(pools.map((e) => e.pool.name), [mine.name], 'one pool event: the listed section\'s');
  t.equal(pools[0]?.detail?.revision, 2, 'and it carries its detail: the budget was not spent on the other 79');
  t.notOk(rs.some((r) => r.data.includes(`"${other.name}"`)), 'nothing of an unlisted section');
  t.same(rs.filter((r) => r.event === 'admin').map((r) => (JSON.parse(r.data) as { pool: { service: string } }).pool.service), [mine.name], 'the admin change of its pool, not of the other');
  t.ok(rs.some((r) => r.event === 'state'), 'its state events come too');
  t.ok(rs.filter((r) => r.event === 'state').every((r) => (JSON.parse(r.data) as { pool: ServiceKey }).pool.name === mine.name));

  for (const bad of ['eqiad', 'eqiad/a,', 'eqiad/a/b', ',eqiad/a']) {
    const res = await fetch(`http://127.0.0.1:${api.port}/v1/events?services=${encodeURIComponent(bad)}`);
    t.equal(res.status, 400, `services=${bad} is a 400`);
    t.match(await res.json(), { error: 'bad_request', where: 'querystring.services' });
  }
});
