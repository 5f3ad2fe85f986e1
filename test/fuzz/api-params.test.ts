// Fuzz: random paths, query strings, methods and Accept headers sent over a real socket to poold's
// API (with a populated view covering every PyBal status), the request target written raw as a
// client would. Never a 500, never a hang: 200, or a 4xx whose body is either a JSON error
// {error, message} or PyBal's own 404 text.
import t from 'tap';
import fc from 'fast-check';
import { connect } from 'node:net';
import { startApi } from '../../src/api/server.js';
import { cxView } from '../api/fixtures.js';

const api = await startApi({ view: cxView(), host: '127.0.0.1', port: 0 });
t.teardown(() => api.close());

interface RawReply { statusCode: number; body: string }

/** One HTTP/1.1 request with the target exactly as given; the reply read until the server closes. */
function request(method: string, target: string, headers: Record<string, string>, body = ''): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const sock = connect(api.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${method} ${target}: no complete answer within 5 s`));
    }, 5000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
      if (!m) return reject(new Error(`${method} ${target}: not an HTTP reply: ${JSON.stringify(raw.slice(0, 100))}`));
      const [head, ...rest] = raw.split('\r\n\r\n');
      let payload = rest.join('\r\n\r\n');
      if (/transfer-encoding: chunked/i.test(head)) {
        let out = '';
        while (payload.length > 0) {
          const nl = payload.indexOf('\r\n');
          const size = parseInt(payload.slice(0, nl), 16);
          if (!(size > 0)) break;
          out += payload.slice(nl + 2, nl + 2 + size);
          payload = payload.slice(nl + 2 + size + 2);
        }
        payload = out;
      }
      resolve({ statusCode: Number(m[1]), body: Buffer.from(payload, 'latin1').toString('utf8') });
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const len = body === '' ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`;
    sock.end(`${method} ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\n${extra}${len}connection: close\r\n\r\n${body}`);
  });
}

/** What a client can put on the request line: printable ASCII as is, anything else percent-encoded. */
const wire = (s: string) => [...s].map((c) => (c > ' ' && c <= '~' ? c : encodeURIComponent(c))).join('');

const SEGMENTS = [
  'pools', 'v1', 'pybal', 'alerts', 'metrics', 'healthz', 'ui', 'events', 'cxserver', 'cxserver_8080', 'eqiad', 'sca',
  'sca1001.eqiad.wmnet', 'sca1005.eqiad.wmnet', 'nosuch', '..', '.', '%2e%2e', '%2F', '%00', '%', '%zz', '%ff%fe', '\u00e9', '\u{1F600}',
  'a'.repeat(300), '', ' ', ';', '*', '{host}', 'index.html', 'dashboard.js', '__proto__', 'constructor',
];
const segment = fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 12 }).map(encodeURIComponent), fc.string({ maxLength: 6 }));
const path = fc.array(segment, { minLength: 0, maxLength: 6 }).map((s) => wire(`/${s.join('/')}`));
const qpart = fc.tuple(
  fc.oneof(fc.constantFrom('dc', 'pool', 'host', 'limit', 'format', 'since', '__proto__', ''), fc.string({ maxLength: 8 })),
  fc.oneof(fc.constantFrom('eqiad', 'codfw', '', '-1', '1e400', '[]', '{}', '%', '%00', 'a'.repeat(500)), fc.string({ maxLength: 10 })),
).map(([k, v]) => wire(`${k}=${v}`));
const query = fc.option(fc.array(qpart, { maxLength: 4 }).map((q) => q.join('&')), { nil: undefined });
const accept = fc.option(fc.constantFrom('application/json', 'text/plain', '*/*', 'text/html', 'application/json;q=0', 'garbage/x', 'application/json, text/plain'), { nil: undefined });
const method = fc.constantFrom('GET' as const, 'HEAD' as const);

/** The SSE stream never ends by design; it has its own tests (test/api/events.test.ts). */
function isEventStream(url: string): boolean {
  let p = url.split('?')[0];
  try {
    p = decodeURIComponent(p);
  } catch {
    // Undecodable: the router will not match it as /v1/events either.
  }
  return /^\/+v1\/+events\/*$/.test(p.replace(/\/\.(?=\/|$)/g, ''));
}

t.test('random GET/HEAD requests: never 5xx, every error is explained', async (t) => {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(method, path, query, accept, async (m, p, q, a) => {
      const url = q === undefined ? p : `${p}?${q}`;
      fc.pre(!isEventStream(url));
      const headers: Record<string, string> = {};
      if (a !== undefined) headers.accept = a;
      const r = await request(m, url, headers);
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      if (r.statusCode >= 500) throw new Error(`${m} ${url} (accept ${a}): ${r.statusCode} ${r.body.slice(0, 300)}`);
      if (r.statusCode !== 200 && !(r.statusCode >= 400 && r.statusCode < 500) && r.statusCode !== 304) {
        throw new Error(`${m} ${url}: unexpected status ${r.statusCode}`);
      }
      if (r.statusCode >= 400 && m === 'GET') {
        const pybal404 = r.statusCode === 404 && /The desired url was not found/.test(r.body);
        let jsonError: boolean;
        try {
          const j = JSON.parse(r.body) as { error?: unknown; message?: unknown };
          jsonError = typeof j.error === 'string' && typeof j.message === 'string' && j.message.length > 0;
        } catch {
          jsonError = false;
        }
        if (!pybal404 && !jsonError) throw new Error(`${m} ${url}: ${r.statusCode} without an explanation: ${r.body.slice(0, 200)}`);
      }
    }),
    { numRuns: 800 },
  );
  t.ok((statuses.get(200) ?? 0) > 0 && [...statuses.keys()].some((s) => s >= 400), `both answers and refusals were exercised: ${JSON.stringify([...statuses])}`);
});

t.test('random write requests: always 405 with a JSON error', async (t) => {
  const writes = new Map<number, number>();
  // Any body, parsable or not, of a type the API takes or not: a write is refused before its body is read.
  const bodies = fc.oneof(
    fc.json({ maxDepth: 2 }).map((b) => ['application/json', b] as const),
    fc.string({ maxLength: 200 }).map((b) => ['application/json', b] as const),
    fc.string({ maxLength: 200 }).map((b) => ['text/plain', b] as const),
    fc.string({ maxLength: 200 }).map((b) => ['application/x-www-form-urlencoded', b] as const),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH' as const), path, bodies, async (m, p, [type, body]) => {
      const r = await request(m, p, { 'content-type': type }, body);
      writes.set(r.statusCode, (writes.get(r.statusCode) ?? 0) + 1);
      // 405 for every write; 400 only when the request target itself is malformed (bad %-escapes).
      if (r.statusCode !== 405 && r.statusCode !== 400) throw new Error(`${m} ${p}: ${r.statusCode} ${r.body.slice(0, 200)}`);
      const j = JSON.parse(r.body) as { error?: unknown };
      if (typeof j.error !== 'string') throw new Error(`${m} ${p}: no JSON error: ${r.body.slice(0, 200)}`);
    }),
    { numRuns: 400 },
  );
  const r = await request('POST', '/pools/cxserver', { 'content-type': 'application/json' }, '{}');
  t.equal(r.statusCode, 405, 'a well-formed write on a real route is 405');
  t.ok((writes.get(405) ?? 0) > (writes.get(400) ?? 0), `mostly 405s: ${JSON.stringify([...writes])}`);
});
