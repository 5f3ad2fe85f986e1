// An HTTP proxy the test controls, between the LVS agent and poold: it forwards everything, and on
// demand cuts every connection (streams included), refuses new ones, or answers /v1/events with an
// error status as a poold without the stream (or a broken proxy in production) would.
import { createServer, request, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';

/** pass: forward; down: cut and refuse; events-404 / events-500: /v1/events answers that status. */
export type ProxyMode = 'pass' | 'down' | 'events-404' | 'events-500';

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
  close(): Promise<void>;
}

export async function startProxy(upstream: string): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const upstreams = new Set<ClientRequest>();
  let mode: ProxyMode = 'pass';
  const eventRequests = { forwarded: 0, refused: 0 };
  const server = createServer((req, res) => {
    const isEvents = (req.url ?? '').startsWith('/v1/events');
    if (isEvents && (mode === 'events-404' || mode === 'events-500')) {
      eventRequests.refused++;
      const status = mode === 'events-404' ? 404 : 500;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: status === 404 ? 'not_found' : 'internal', message: `proxy says ${status}` }));
      return;
    }
    if (isEvents) eventRequests.forwarded++;
    const up = request(new URL(req.url ?? '/', proxy.upstream), { method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
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
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
