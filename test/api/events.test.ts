// The event bus, and /v1/events as server-sent events over a real loopback socket.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import t from 'tap';
import { EventBus } from '../../src/api/event-bus.js';
import { startApi } from '../../src/api/server.js';
import { PoolView } from '../../src/api/state-view.js';
import { CX, cxState, cxView, result, serviceDef } from './fixtures.js';

t.test('EventBus: ids, ring buffer, since() and gaps', async (t) => {
  let clock = 100;
  const bus = new EventBus(3, () => clock++);
  const seen: number[] = [];
  const off = bus.subscribe((e) => seen.push(e.id));
  for (let i = 0; i < 5; i++) bus.publish({ type: 'leadership', leader: i % 2 === 0, leaderId: null });
  t.same(seen, [1, 2, 3, 4, 5]);
  t.same(bus.recent().map((e) => [e.id, e.at]), [[3, 102], [4, 103], [5, 104]], 'keeps the last 3, stamped by the clock');
  t.same(bus.since(3), { events: bus.recent().slice(1), gap: false });
  t.same(bus.since(2).gap, false, 'event 3 is the next one and still buffered');
  t.same(bus.since(1), { events: bus.recent(), gap: true }, 'event 2 was evicted');
  t.same(bus.since(5), { events: [], gap: false });
  t.same(bus.since(99), { events: bus.recent(), gap: true }, 'an id from a previous process replays everything');
  off();
  bus.publish({ type: 'leadership', leader: true, leaderId: null });
  t.equal(seen.length, 5, 'unsubscribed listeners get nothing');
  t.throws(() => new EventBus(0), RangeError);
});

t.test('PoolView publishes state changes, check transitions, admin and flag changes', async (t) => {
  const view = new PoolView({ now: () => 7 });
  const host = { ...CX, host: 'sca1004.eqiad.wmnet' };
  view.setState(cxState(1));
  const states = view.events.recent().filter((e) => e.type === 'state');
  t.equal(states.length, 5, 'first state: one event per host appearing');
  t.match(view.events.recent().at(-1), { id: 6, type: 'pool', pool: CX, change: 'state', revision: 1 }, 'then one for the pool');
  view.setState(cxState(2));
  t.equal(view.events.lastId, 6, 'same state again: no events');
  view.setState(cxState(3, { 'sca1004.eqiad.wmnet': { up: true, pooled: true, reason: 'ok' } }));
  t.match(view.events.recent().at(-1), { type: 'pool', pool: CX, change: 'state', revision: 3 });
  t.match(view.events.recent().at(-2), {
    type: 'state',
    host: 'sca1004.eqiad.wmnet',
    revision: 3,
    before: { up: false, pooled: false },
    after: { up: true, pooled: true, reason: 'ok' },
    at: 7,
  });
  const before = view.events.lastId;
  view.setVerdict(host, 'tcp', result(true), 1);
  t.equal(view.events.lastId, before, 'a first passing result is not news');
  view.setVerdict(host, 'tcp', result(true), 2);
  view.setVerdict(host, 'tcp', result(false), 3);
  t.match(view.events.recent().at(-1), { type: 'check', check: 'tcp', up: false, code: 'refused', totalMs: 3 });
  t.equal(view.events.lastId, before + 1, 'only the flip is published');
  view.recordAdminChange({ dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: host.host }, { pooled: 'yes', weight: 10 }, { pooled: 'no', weight: 10 }, { actor: 'alice', reason: 'T1234' });
  t.match(view.events.recent().at(-1), { type: 'admin', pool: { dc: 'eqiad', cluster: 'sca', service: 'cxserver' }, services: ['cxserver'], actor: 'alice', reason: 'T1234', after: { pooled: 'no' } });
  view.setFlapping(host, true);
  view.setFlapping(host, true);
  view.setAllStale(true, 50);
  view.setAllStale(true, 60);
  view.setLeadership({ leader: true, leaderId: 'me' });
  t.same(
    view.events.recent().slice(-3).map((e) => e.type),
    ['flapping', 'stale', 'leadership'],
    'repeated marks publish once',
  );
  t.equal(view.get(CX)?.staleSinceMs, 50, 'marking stale again keeps the original start');
  view.removeService(CX);
  t.equal(view.get(CX), null);
  t.equal(view.events.recent().filter((e) => e.type === 'state' && e.after === null).length, 5, 'removal publishes hosts leaving');
  t.match(view.events.recent().at(-1), { type: 'pool', pool: CX, change: 'removed' }, 'and the pool leaving');
});

t.test('PoolView: a pool event for what an LVS table depends on, and for definition changes only when they differ', async (t) => {
  const view = new PoolView();
  const pools = () => view.events.recent().filter((e) => e.type === 'pool');
  view.setState(cxState(1));
  const n = pools().length;
  const s2 = cxState(2);
  // A depooled host decommissioned: its summary (enabled/up/pooled/weight/reason) stays as it was.
  s2.servers['sca1002.eqiad.wmnet'] = { ...s2.servers['sca1002.eqiad.wmnet']!, pooledAdmin: 'inactive' };
  view.setState(s2);
  t.equal(pools().length, n + 1, 'an admin-only change: no state event, but a pool event');
  t.match(pools().at(-1), { change: 'state', revision: 2 });
  const def = { ...serviceDef(CX, ['sca1001.eqiad.wmnet']) };
  view.setService(def);
  t.match(pools().at(-1), { change: 'definition', revision: 2 });
  const after = pools().length;
  view.setService(structuredClone(def));
  t.equal(pools().length, after, 'the same definition again: no event');
  view.setService({ ...def, lvs: { ...def.lvs, scheduler: 'sh' } });
  t.equal(pools().length, after + 1, 'a changed definition: an event');
});

t.test('GET /v1/events names its epoch in the first comment; ?types=pool is accepted', async (t) => {
  const view = cxView();
  const api = await startApi({ view, port: 0 });
  t.teardown(() => api.close());
  const s = await openSse(api.port, '/v1/events?types=pool&replay=0');
  const hello = await s.next((f) => f.comment !== undefined);
  t.equal(hello.comment, `poold events, last id ${view.events.lastId}, epoch ${view.events.epoch}`);
  t.match(view.events.epoch, /^[0-9a-f]{12}$/);
  t.not(new PoolView().events.epoch, view.events.epoch, 'each bus (process) has its own epoch');
  view.setState(cxState(99, { 'sca1004.eqiad.wmnet': { up: true, pooled: true, reason: 'ok' } }));
  const ev = await s.next(isEvent);
  t.equal(ev.event, 'pool', 'only pool events with ?types=pool');
  t.match(JSON.parse(ev.data!), { type: 'pool', pool: CX, change: 'state', revision: 99 });
  s.close();
});

interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** A minimal SSE reader over node:http: frames arrive on `next()`. */
async function openSse(port: number, path: string, headers: Record<string, string> = {}) {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } }, resolve);
    req.on('error', reject);
    req.end();
  });
  const frames: SseFrame[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  let ended = false;
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const f: SseFrame = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) f.comment = line.slice(1).trim();
        else {
          const [k, ...v] = line.split(': ');
          (f as Record<string, string>)[k] = v.join(': ');
        }
      }
      frames.push(f);
      waiters.splice(0).forEach((w) => w());
    }
  });
  res.on('end', () => {
    ended = true;
    waiters.splice(0).forEach((w) => w());
  });
  let read = 0;
  return {
    res,
    get ended() {
      return ended;
    },
    /** The next frame matching `pred`, or rejects after `ms`. */
    async next(pred: (f: SseFrame) => boolean = () => true, ms = 2000): Promise<SseFrame> {
      const deadline = Date.now() + ms;
      for (;;) {
        while (read < frames.length) {
          const f = frames[read++];
          if (pred(f)) return f;
        }
        if (ended) throw new Error('stream ended');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching SSE frame within ${ms} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => res.destroy(),
  };
}

const isEvent = (f: SseFrame) => f.id !== undefined;

t.test('GET /v1/events over a real socket: live delivery, replay, Last-Event-ID, heartbeat, shutdown', async (t) => {
  const view = cxView();
  const api = await startApi({ view, port: 0, sseHeartbeatMs: 40 });
  let closed = false;
  t.teardown(() => (closed ? undefined : api.close()));
  const lastAtStart = view.events.lastId;
  t.ok(lastAtStart > 0, 'the fixture published events');

  const a = await openSse(api.port, '/v1/events');
  t.equal(a.res.statusCode, 200);
  t.match(a.res.headers['content-type'], /^text\/event-stream/);
  t.equal(a.res.headers['cache-control'], 'no-cache');
  // Without Last-Event-ID the buffer is replayed.
  const first = await a.next(isEvent);
  t.equal(first.id, '1');
  const replayed = [first];
  while (Number(replayed.at(-1)!.id) < lastAtStart) replayed.push(await a.next(isEvent));
  t.same(replayed.map((f) => Number(f.id)), view.events.recent().map((e) => e.id), 'the whole buffer, in order');

  // Live delivery within ~100 ms of publishing.
  const host = { ...CX, host: 'sca1001.eqiad.wmnet' };
  const published = Date.now();
  view.setVerdict(host, 'tcp', result(false), published);
  const live = await a.next((f) => Number(f.id) > lastAtStart, 100);
  t.ok(Date.now() - published <= 100, 'delivered within 100 ms');
  const data = JSON.parse(live.data!);
  t.match(data, { type: 'check', host: 'sca1001.eqiad.wmnet', check: 'tcp', up: false, pool: CX });
  t.equal(live.id, String(data.id));
  const heartbeat = await a.next((f) => f.comment === 'heartbeat', 1000);
  t.equal(heartbeat.comment, 'heartbeat');
  a.close();

  // Resume: only events after Last-Event-ID, then live ones.
  view.setVerdict(host, 'tcp', result(true), published + 1);
  view.setFlapping(host, true);
  const b = await openSse(api.port, '/v1/events', { 'last-event-id': live.id! });
  const r1 = await b.next(isEvent);
  const r2 = await b.next(isEvent);
  t.same([r1.event, r2.event], ['check', 'flapping']);
  t.equal(Number(r1.id), Number(live.id) + 1);
  view.setDrift(CX, [{ where: 'icinga', message: 'x' }]);
  t.equal((await b.next(isEvent, 500)).event, 'drift');

  // Type filter and query-string resume for clients that cannot set headers.
  const c = await openSse(api.port, `/v1/events?lastEventId=${live.id}&types=flapping`);
  const onlyFlap = await c.next(isEvent);
  t.equal(onlyFlap.event, 'flapping');
  view.setFlapping(host, false);
  t.equal((await c.next(isEvent)).event, 'flapping', 'the drift event was filtered out');

  // An id from before a restart: a gap marker, then the buffer.
  const d = await openSse(api.port, '/v1/events?lastEventId=999999');
  const gap = await d.next((f) => f.event === 'gap' || isEvent(f));
  t.equal(gap.event, 'gap', 'the gap marker comes before any replayed event');
  t.same(JSON.parse(gap.data!), { lastEventId: 999999, oldestId: 1 });
  t.equal((await d.next(isEvent)).id, '1');

  t.equal(view.events.subscriberCount, 3, 'b, c and d subscribed; a unsubscribed on disconnect');
  const closing = api.close();
  await b.next(() => false, 2000).catch((err: Error) => t.equal(err.message, 'stream ended', 'close ends open streams'));
  await closing;
  closed = true;
  t.equal(view.events.subscriberCount, 0, 'no subscriber leaks after close');
});
