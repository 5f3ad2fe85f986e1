// GET /v1/events: the view's events as server-sent events.
//
//   id: 42            the event id; browsers send it back as Last-Event-ID when they reconnect
//   event: state      the event type (state, check, admin, flapping, drift, stale, leadership, pool)
//   data: {...}       the event as JSON, on one line
//
// On connect the recent events are replayed: those after Last-Event-ID (header, or ?lastEventId=
// for clients that cannot set headers), else the whole buffer (?replay=0 to skip). If events after
// the given id were already evicted, or the id is from before a restart, an `event: gap` tells the
// client to refetch /v1/pools. The first comment names the last id and the bus's epoch (one per
// process): a client whose saved id comes from another epoch must refetch too. Comment lines (`: heartbeat`) keep proxies from closing an idle
// stream. Slow clients that let more than 1 MiB pile up are disconnected rather than buffered.
//
// ?detail=1: each `pool` event also carries `detail`, the service's GET /v1/pools/:dc/:name body
// (built by routes-v1.ts's poolDetail and serialized with that route's schema), so the LVS agent
// needs no re-fetch. The detail is the view's CURRENT one when the event is written, not a copy
// kept from when it was published: the buffer holds no details (memory), and a replayed event can
// only carry a detail as new as any later event's, never an older one. A `removed` pool, or one the
// view no longer has, gets no `detail` (the client re-fetches, and learns it is gone).
// Details are big (about 0.7-1 KB per host) and come in bursts (in eqiad one kubesvc host depool
// is a pool event for each of the 44 sections over that 240-host pool, ~10 MB with details): an
// event goes with its detail only while this client's unsent backlog, detail included, stays under
// DETAIL_BUDGET; past it, without (the client re-fetches that pool), so a burst never trips the
// slow-client cut-off below and a replay of it cannot either.
//
// ?services=dc/name,...: only the events of those LVS services (events-filter.ts), so an agent's
// detail budget goes to its own pools. A live burst for other services costs it nothing.
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { errorBodySchema } from './http-errors.js';
import type { PoolEvent, PoolEventType } from './event-bus.js';
import type { PoolView } from './state-view.js';
import { poolDetail, poolDetailSchema } from './routes-v1.js';
import { eventServiceFilter, SERVICE_LIST_PATTERN } from './events-filter.js';

export interface EventRoutesOptions {
  view: PoolView;
  heartbeatMs: number;
  /** Clock for the detail's ages (staleForMs), as the pool-detail route has. */
  now: () => number;
}

const EVENT_TYPES: readonly PoolEventType[] = ['state', 'check', 'admin', 'flapping', 'drift', 'stale', 'leadership', 'pool'];
const MAX_BUFFERED_BYTES = 1 << 20;
/** Half the cut-off: a detail never brings a client near it. Compared with string length (the JSON is ASCII but for names). */
const DETAIL_BUDGET = MAX_BUFFERED_BYTES / 2;

interface EventsQuery {
  lastEventId?: number;
  replay?: number;
  types?: string;
  detail?: number;
  services?: string;
}

/** An event's frame without its detail, and with it (built on first use; undefined when it has none). */
interface Framed {
  id: number;
  plain: string;
  detailed(): string | undefined;
}

function frame(e: PoolEvent, detailJson?: string): string {
  const json = JSON.stringify(e);
  // The detail is already JSON (from the route's serializer): spliced in as the last member rather
  // than parsed back and serialized a second time. JSON.stringify of an object always ends in `}`.
  const data = detailJson === undefined ? json : `${json.slice(0, -1)},"detail":${detailJson}}`;
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${data}\n\n`;
}

export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (app, { view, heartbeatMs, now }) => {
  const open = new Set<ServerResponse>();
  /** The pool-detail route's serializer (same schema, same compiler), compiled on first use. */
  let serializeDetail: ((body: { [key: string]: unknown }) => string) | undefined;
  /**
   * The last live event's frames: publish() hands one event to every subscriber in one synchronous
   * loop, so several agents cost one detail serialization, not one each.
   */
  let lastLive: Framed | undefined;
  const framed = (e: PoolEvent): Framed => {
    let built = false;
    let detailed: string | undefined;
    return {
      id: e.id,
      plain: frame(e),
      detailed: () => {
        if (!built) detailed = detailFrame(e);
        built = true;
        return detailed;
      },
    };
  };
  /** The event's frame with its detail, or undefined when it has none. */
  const detailFrame = (e: PoolEvent): string | undefined => {
    if (e.type !== 'pool' || e.change === 'removed' || !serializeDetail) return undefined;
    const body = poolDetail(view, e.pool, now());
    if (body === undefined) return undefined;
    let json: string;
    try {
      json = serializeDetail(body);
    } catch (err) {
      // This runs inside publish(), on the daemon's state path: a detail that cannot be serialized
      // must not break that. The event goes without it; the client re-fetches the pool, and the
      // route answers the same failure as a 500 there (its client then holds its table: fail static).
      app.log.error({ err, pool: e.pool, id: e.id }, 'cannot serialize the pool detail of an event; sent without it');
      return undefined;
    }
    return frame(e, json);
  };
  const liveFramed = (e: PoolEvent): Framed => {
    if (lastLive?.id !== e.id) lastLive = framed(e);
    return lastLive;
  };
  /**
   * With its detail if this client's backlog leaves room for it (see the header). A client already
   * past the budget does not even have the detail built (no serialization on publish's path for it).
   */
  const pick = (res: ServerResponse, f: Framed): string => {
    if (res.writableLength >= DETAIL_BUDGET) return f.plain;
    const d = f.detailed();
    return d !== undefined && res.writableLength + d.length <= DETAIL_BUDGET ? d : f.plain;
  };
  // Streams never end by themselves; end them before the server waits for its connections.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
    open.clear();
  });

  app.get<{ Querystring: EventsQuery; Headers: { 'last-event-id'?: string } }>(
    '/v1/events',
    {
      // A HEAD would hijack the socket and stream forever; there is nothing useful to HEAD here.
      exposeHeadRoute: false,
      schema: {
        headers: { type: 'object', properties: { 'last-event-id': { type: 'string', pattern: '^[0-9]{1,15}$' } } },
        querystring: {
          type: 'object',
          properties: {
            lastEventId: { type: 'integer', minimum: 0 },
            replay: { type: 'integer', enum: [0, 1] },
            types: { type: 'string', pattern: `^(${EVENT_TYPES.join('|')})(,(${EVENT_TYPES.join('|')}))*$` },
            // 1: `pool` events carry the service's detail (the GET /v1/pools/:dc/:name body).
            detail: { type: 'integer', enum: [0, 1] },
            // Comma-separated `dc/name`: only the events of those LVS services (and of none: leadership).
            services: { type: 'string', maxLength: 65536, pattern: SERVICE_LIST_PATTERN },
          },
          additionalProperties: false,
        },
        response: { 200: { type: 'string', description: 'text/event-stream' }, 400: errorBodySchema },
      },
    },
    async (request, reply) => {
      const header = request.headers['last-event-id'];
      const lastId = header !== undefined ? Number(header) : request.query.lastEventId;
      const wanted = request.query.types ? new Set(request.query.types.split(',')) : null;
      const concerns = eventServiceFilter(request.query.services);
      const pass = (e: PoolEvent) => (wanted === null || wanted.has(e.type)) && concerns(e);
      const withDetail = request.query.detail === 1;
      if (withDetail) serializeDetail ??= reply.compileSerializationSchema(poolDetailSchema as Record<string, unknown>);
      const res = reply.raw;
      const liveFrame = withDetail ? (e: PoolEvent) => pick(res, liveFramed(e)) : (e: PoolEvent) => frame(e);
      // A replayed event gets the detail as it is now (see the header).
      const replayFrame = withDetail ? (e: PoolEvent) => pick(res, framed(e)) : (e: PoolEvent) => frame(e);

      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      open.add(res);

      let closed = false;
      const cleanup = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(heartbeat);
        open.delete(res);
      };
      const write = (text: string) => {
        if (closed) return;
        res.write(text);
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          request.log.warn({ url: request.url }, 'SSE client too slow, disconnecting');
          res.end();
          cleanup();
        }
      };

      // Subscribe before replaying so nothing published in between is lost; the replay is
      // synchronous, so events arriving during it cannot interleave.
      const unsubscribe = view.events.subscribe((e) => {
        if (pass(e)) write(liveFrame(e));
      });
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
      heartbeat.unref();
      res.on('close', cleanup);
      res.on('error', (err) => {
        request.log.debug({ err }, 'SSE client connection error');
        cleanup();
      });

      write(`retry: 2000\n: poold events, last id ${view.events.lastId}, epoch ${view.events.epoch}\n\n`);
      if (lastId !== undefined) {
        const replay = view.events.since(lastId);
        if (replay.gap) write(`event: gap\ndata: ${JSON.stringify({ lastEventId: lastId, oldestId: replay.events[0]?.id ?? null })}\n\n`);
        for (const e of replay.events) if (pass(e)) write(replayFrame(e));
      } else if (request.query.replay !== 0) {
        for (const e of view.events.recent()) if (pass(e)) write(replayFrame(e));
      }
    },
  );
};
