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
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { errorBodySchema } from './http-errors.js';
import type { PoolEvent, PoolEventType } from './event-bus.js';
import type { PoolView } from './state-view.js';

export interface EventRoutesOptions {
  view: PoolView;
  heartbeatMs: number;
}

const EVENT_TYPES: readonly PoolEventType[] = ['state', 'check', 'admin', 'flapping', 'drift', 'stale', 'leadership', 'pool'];
const MAX_BUFFERED_BYTES = 1 << 20;

interface EventsQuery {
  lastEventId?: number;
  replay?: number;
  types?: string;
}

function frame(e: PoolEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (app, { view, heartbeatMs }) => {
  const open = new Set<ServerResponse>();
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
      const pass = (e: PoolEvent) => wanted === null || wanted.has(e.type);

      reply.hijack();
      const res = reply.raw;
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
        if (pass(e)) write(frame(e));
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
        for (const e of replay.events) if (pass(e)) write(frame(e));
      } else if (request.query.replay !== 0) {
        for (const e of view.events.recent()) if (pass(e)) write(frame(e));
      }
    },
  );
};
