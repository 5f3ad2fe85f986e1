// An HTTP proxy the test controls, between the LVS agent and poold: it forwards everything, and on
// demand cuts every connection (streams included), refuses new ones, or answers /v1/events with an
// error status as a poold without the stream (or a broken proxy in production) would. It can also
// play an older poold that refuses `?detail=1` or `?services=` (400, as its querystring schema does
// with any unknown parameter), rewrite the `pool` events going through, and slip a recorded frame into open streams.
import { createServer, request, type ClientRequest, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * pass: forward; down: cut and refuse; events-404 / events-500: /v1/events answers that status;
 * old-poold: /v1/events with a `detail` or `services` parameter answers 400 as a poold before both would;
 * pre-services-poold: only `services` is refused (a poold with details but before the filter).
 */
export type ProxyMode = 'pass' | 'down' | 'events-404' | 'events-500' | 'old-poold' | 'pre-services-poold';

/** A `pool` event's data as JSON, with its frame's id. */
export interface PoolFrame {
  id: string;
  data: Record<string, unknown>;
}

export interface TestProxy {
  url: string;
  /** Where requests go; may be changed (a restarted poold on another port). */
  upstream: string;
  readonly mode: ProxyMode;
  /** Changes the mode; `down` also cuts every open connection. */
  setMode(mode: ProxyMode): void;
  /** Destroys every open connection (client and upstream sides), streams included. */
  cut(): void;
  /** /v1/events requests seen, by the status the proxy answered (or 'forwarded'). */
  eventRequests: { forwarded: number; refused: number };
  /** The URL (path and query) of every request forwarded, in order. */
  requests: string[];
  /** Every `pool` event forwarded (after any rewrite), in order. */
  poolFrames: PoolFrame[];
  /** When set, each `pool` event's data goes through this on its way to the client. */
  rewritePool: ((data: Record<string, unknown>) => Record<string, unknown>) | undefined;
  /** Writes a `pool` event into every open /v1/events stream, as if poold had sent it. */
  inject(frame: PoolFrame): void;
  close(): Promise<void>;
}

export async function startProxy(upstream: string): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const upstreams = new Set<ClientRequest>();
  let mode: ProxyMode = 'pass';
  const eventRequests = { forwarded: 0, refused: 0 };
  const requests: string[] = [];
  const poolFrames: PoolFrame[] = [];
  const streams = new Set<ServerResponse>();
  const poolFrameText = (f: PoolFrame) => `id: ${f.id}\nevent: pool\ndata: ${JSON.stringify(f.data)}\n\n`;
  /** poold writes one event per block (`id`, `event`, one `data` line): rewritten block by block. */
  const relayEvents = (res: ServerResponse) => {
    let buf = '';
    return (chunk: string) => {
      buf += chunk;
      let i: number;
      let out = '';
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i + 2);
        buf = buf.slice(i + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id === undefined || data === undefined || !/^event: pool$/m.test(block)) {
          out += block;
          continue;
        }
        const parsed = JSON.parse(data) as Record<string, unknown>;
        const f: PoolFrame = { id, data: proxy.rewritePool ? proxy.rewritePool(parsed) : parsed };
        poolFrames.push(f);
        out += proxy.rewritePool ? poolFrameText(f) : block;
      }
      if (out) res.write(out);
    };
  };
  const server = createServer((req, res) => {
    const isEvents = (req.url ?? '').startsWith('/v1/events');
    const params = new URL(req.url ?? '/', 'http://x').searchParams;
    const unknownToOld = (mode === 'old-poold' && (params.has('detail') || params.has('services'))) || (mode === 'pre-services-poold' && params.has('services'));
    if (isEvents && unknownToOld) {
      eventRequests.refused++;
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'bad_request', message: 'querystring must NOT have additional properties (GET /v1/events)', where: 'querystring' }));
      return;
    }
    if (isEvents && (mode === 'events-404' || mode === 'events-500')) {
      eventRequests.refused++;
      const status = mode === 'events-404' ? 404 : 500;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: status === 404 ? 'not_found' : 'internal', message: `proxy says ${status}` }));
      return;
    }
    if (isEvents) eventRequests.forwarded++;
    requests.push(req.url ?? '/');
    const up = request(new URL(req.url ?? '/', proxy.upstream), { method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (isEvents && ur.statusCode === 200) {
        streams.add(res);
        res.on('close', () => streams.delete(res));
        ur.setEncoding('utf8');
        ur.on('data', relayEvents(res));
        ur.on('end', () => res.end());
      } else {
        ur.pipe(res);
      }
      ur.on('error', () => res.destroy());
    });
    upstreams.add(up);
    up.on('close', () => upstreams.delete(up));
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    if (mode === 'down') {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const cut = () => {
    for (const u of upstreams) u.destroy();
    for (const s of sockets) s.destroy();
  };
  const proxy: TestProxy = {
    url: `http://127.0.0.1:${port}`,
    upstream,
    get mode() {
      return mode;
    },
    setMode(m) {
      mode = m;
      if (m === 'down') cut();
    },
    cut,
    eventRequests,
    requests,
    poolFrames,
    rewritePool: undefined,
    inject(f) {
      for (const res of streams) res.write(poolFrameText(f));
    },
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
