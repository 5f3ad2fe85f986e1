// Plays one behaviour on one accepted connection. Raw sockets, not node:http, so that the simulator
// can misbehave exactly (never close, trickle, reset) and stay cheap at 10k backends.
import type * as net from 'node:net';
import type { Behaviour, BehaviourOptions } from './behaviours.js';

export interface BackendCounters {
  connections: number;
  requests: number;
  open: number;
}

export interface ConnectionContext {
  behaviour: Behaviour;
  options: BehaviourOptions;
  address: string;
  counters: BackendCounters;
  /** Whether the flapping backend is in its failing phase for this request. */
  flapFailing: () => boolean;
  /** Timers to clear on stop. */
  timers: Set<NodeJS.Timeout>;
}

interface Request {
  method: string;
  path: string;
  close: boolean;
}

const HEAD_END = '\r\n\r\n';

export function serveConnection(socket: net.Socket, ctx: ConnectionContext): void {
  socket.on('error', () => {
    // Clients hang up and reset all the time; that is the point of a health-check simulator.
  });
  if (ctx.behaviour === 'reset') {
    socket.resetAndDestroy();
    return;
  }
  let buffered = '';
  let busy = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    if (ctx.behaviour === 'hang-before-headers') return;
    buffered += chunk;
    pump();
  });

  function pump(): void {
    while (!busy && !socket.destroyed) {
      const end = buffered.indexOf(HEAD_END);
      if (end < 0) return;
      const req = parseRequest(buffered.slice(0, end));
      buffered = buffered.slice(end + 4);
      ctx.counters.requests++;
      busy = true;
      respond(req, () => {
        busy = false;
        pump();
      });
    }
  }

  function later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      ctx.timers.delete(t);
      fn();
    }, ms);
    ctx.timers.add(t);
  }

  function respond(req: Request, done: () => void): void {
    const o = ctx.options;
    switch (ctx.behaviour) {
      case 'headers-then-hang':
        socket.write(head(200, 'OK', 'application/json', 100, false));
        return; // never done: the body never comes
      case 'never-close':
        // The Parsoid bug: a complete, framed response, then the socket stays open whatever was asked.
        send(req, route(req, ctx), false, () => undefined);
        return;
      case 'trickle': {
        const [status, type, body] = route(req, ctx);
        const bytes = Buffer.from(body);
        socket.write(head(status, reasonOf(status), type, bytes.length, req.close));
        if (req.method === 'HEAD') return finishResponse(req, done);
        let i = 0;
        const tick = (): void => {
          if (socket.destroyed) return;
          socket.write(bytes.subarray(i, i + 1));
          i++;
          if (i < bytes.length) later(o.trickleMs ?? 300, tick);
          else finishResponse(req, done);
        };
        later(o.trickleMs ?? 300, tick);
        return;
      }
      case 'empty-200':
        send(req, [200, 'application/json', ''], req.close, done);
        return;
      case 'slow-under':
      case 'slow-over':
        later(o.delayMs ?? (ctx.behaviour === 'slow-under' ? 4500 : 5500), () => send(req, route(req, ctx), req.close, done));
        return;
      case 'wrong-body':
        send(req, [200, 'application/json', '{"status":"maintenance"}'], req.close, done);
        return;
      case 'flapping':
        if (ctx.flapFailing()) send(req, [503, 'text/plain', 'flapping: failing phase\n'], req.close, done);
        else send(req, route(req, ctx), req.close, done);
        return;
      default:
        // ok, 404-root, bad-tls (TLS is set up by the caller)
        send(req, route(req, ctx), req.close, done);
    }
  }

  function send(req: Request, [status, type, body]: [number, string, string], close: boolean, done: () => void): void {
    // One write (and the FIN with it) per response: the simulator must stay cheap at 10k checks/s.
    const length = Buffer.byteLength(body);
    const text = head(status, reasonOf(status), type, length, close) + (req.method === 'HEAD' ? '' : body);
    if (close) {
      socket.end(text);
    } else {
      socket.write(text);
      done();
    }
  }

  function finishResponse(req: Request, done: () => void): void {
    if (req.close) socket.end();
    else done();
  }
}

function parseRequest(text: string): Request {
  const lines = text.split('\r\n');
  const [method = 'GET', path = '/', version = 'HTTP/1.1'] = lines[0].split(' ');
  let connection = '';
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].toLowerCase().startsWith('connection:')) connection = lines[i].slice(11).trim().toLowerCase();
  }
  const close = connection === 'close' || (version === 'HTTP/1.0' && connection !== 'keep-alive');
  return { method, path, close };
}

/** What a real service would answer: `/` a small page, `/_info` service JSON, anything else 404. */
function route(req: Request, ctx: ConnectionContext): [number, string, string] {
  const service = ctx.options.service ?? 'simsvc';
  const path = req.path.split('?')[0];
  if (path === '/_info') {
    return [200, 'application/json', JSON.stringify({ name: service, version: '1.0.0', host: ctx.address, status: 'ok' })];
  }
  if ((path === '/' || ctx.options.anyPath === true) && ctx.behaviour !== '404-root') {
    return [200, 'text/html; charset=utf-8', `<!DOCTYPE html><html><head><title>${service}</title></head><body>${service} is running</body></html>\n`];
  }
  return [404, 'text/plain', `not found: ${path}\n`];
}

function head(status: number, reason: string, type: string, length: number, close: boolean): string {
  return `HTTP/1.1 ${status} ${reason}\r\nServer: poold-sim\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
}

function reasonOf(status: number): string {
  return status === 200 ? 'OK' : status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Status';
}
