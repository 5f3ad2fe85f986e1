// Follows poold's /v1/events (server-sent events) for `poolctl status --watch`, reconnecting with
// Last-Event-ID so no buffered event is missed or repeated across reconnects.
import { request } from 'node:http';
import type { PoolEvent } from '../api/event-bus.js';
import { poolPath, servicePath } from '../model/types.js';

export interface StreamHandlers {
  event(e: PoolEvent): void;
  status(line: string): void;
}

/** Parses an SSE byte stream into (id, event, data) records. */
export class SseParser {
  private buf = '';
  constructor(private readonly onRecord: (r: { id?: string; event?: string; data: string }) => void) {}

  push(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const rec: { id?: string; event?: string; data: string } = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue; // heartbeat comment
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') rec.id = value;
        else if (field === 'event') rec.event = value;
        else if (field === 'data') rec.data += (rec.data ? '\n' : '') + value;
      }
      if (rec.data !== '') this.onRecord(rec);
    }
  }
}

export function followEvents(baseUrl: string, types: string[], h: StreamHandlers): { stop(): void } {
  let lastId: string | undefined;
  let stopped = false;
  let delay = 250;
  let current: ReturnType<typeof request> | undefined;
  const connect = () => {
    if (stopped) return;
    const url = new URL('/v1/events', baseUrl);
    url.searchParams.set('types', types.join(','));
    if (lastId === undefined) url.searchParams.set('replay', '0');
    const req = request(url, { headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) } }, (res) => {
      if (res.statusCode !== 200) {
        h.status(`poold answered ${res.statusCode} at ${url.origin}; retrying`);
        res.resume();
        return;
      }
      delay = 250;
      h.status(`following ${url.origin}/v1/events`);
      res.setEncoding('utf8');
      const parser = new SseParser((r) => {
        if (r.id !== undefined) lastId = r.id;
        if (r.event === 'gap') {
          h.status('some events were missed (poold restarted or we fell behind); run poolctl status for the full picture');
          return;
        }
        try {
          h.event(JSON.parse(r.data) as PoolEvent);
        } catch (err) {
          h.status(`unreadable event from poold: ${(err as Error).message}`);
        }
      });
      res.on('data', (c: string) => parser.push(c));
      res.on('end', retry);
    });
    req.on('error', (err) => {
      h.status(`cannot reach poold at ${url.origin}: ${err.message}; retrying`);
      retry();
    });
    req.end();
    current = req;
  };
  const retry = () => {
    if (stopped) return;
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 5000);
  };
  connect();
  return {
    stop() {
      stopped = true;
      current?.destroy();
    },
  };
}

const yn = (b: boolean | undefined, y: string, n: string) => (b === undefined ? '-' : b ? y : n);

/** One line per event, for a terminal. */
export function describeEvent(e: PoolEvent): string {
  const time = new Date(e.at).toISOString().slice(11, 19);
  switch (e.type) {
    case 'state': {
      const b = e.before;
      const a = e.after;
      const what = a === null ? 'left the pool' : b === null ? `${yn(a.pooled, 'pooled', 'not pooled')}, ${yn(a.up, 'up', 'down')}`
        : `${b.pooled !== a.pooled ? `${yn(b.pooled, 'pooled', 'not pooled')} -> ${yn(a.pooled, 'pooled', 'not pooled')}` : yn(a.pooled, 'pooled', 'not pooled')}, ` +
          `${b.up !== a.up ? `${yn(b.up, 'up', 'down')} -> ${yn(a.up, 'up', 'down')}` : yn(a.up, 'up', 'down')}` +
          `${b.weight !== a.weight ? `, weight ${b.weight} -> ${a.weight}` : ''}`;
      return `${time} ${servicePath(e.pool)} ${e.host}: ${what}${a ? ` (${a.reason})` : ''}`;
    }
    case 'admin':
      return `${time} ${poolPath(e.pool)} ${e.host}: admin ${JSON.stringify(e.before)} -> ${JSON.stringify(e.after)}${e.actor ? ` by ${e.actor}` : ''}${e.reason ? `: ${e.reason}` : ''}`;
    case 'check':
      return `${time} ${servicePath(e.pool)} ${e.host}: check ${e.check} ${e.up ? 'up' : 'DOWN'} (${e.message})`;
    case 'flapping':
      return `${time} ${servicePath(e.pool)} ${e.host}: ${e.flapping ? 'FLAPPING' : 'no longer flapping'}`;
    case 'drift':
      return `${time} ${servicePath(e.pool)}: ${e.problems.length > 0 ? `DRIFT: ${e.problems.join('; ')}` : 'drift cleared'}`;
    case 'stale':
      return `${time} ${e.pool ? servicePath(e.pool) : 'all pools'}: ${e.stale ? 'state STALE (poold lost etcd)' : 'state fresh again'}`;
    case 'leadership':
      return `${time} leader: ${e.leaderId ?? 'none'}`;
    default:
      return `${time} ${JSON.stringify(e)}`;
  }
}
