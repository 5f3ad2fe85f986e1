// Check connections (conn-socket.ts) against real loopback servers: the events a server's behaviour
// should produce, errors named as node names them, and RST closes that leave no TIME_WAIT.
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import t from 'tap';
import type { Conn, ConnOwner } from '../../src/checks/conn.js';
import { openConn } from '../../src/checks/conn-socket.js';
import { loopbackAddress } from './check-defs.js';

/** Records what a connection reports, in order. */
class Recorder implements ConnOwner {
  events: string[] = [];
  data = '';
  error: NodeJS.ErrnoException | undefined;
  private waiters: [string, () => void][] = [];
  connected(): void {
    this.note('connected');
  }
  secured(): void {
    this.note('secured');
  }
  received(d: Buffer, length: number): void {
    this.data += d.toString('latin1', 0, length);
    this.note('data');
  }
  ended(): void {
    this.note('ended');
  }
  errored(err: NodeJS.ErrnoException): void {
    this.error = err;
    this.note('errored');
  }
  closed(): void {
    this.note('closed');
  }
  until(event: string): Promise<void> {
    if (this.events.includes(event)) return Promise.resolve();
    return new Promise((r) => this.waiters.push([event, r]));
  }
  private note(e: string): void {
    if (this.events.at(-1) !== e) this.events.push(e);
    for (const [w, r] of this.waiters) if (w === e) r();
  }
}

interface Server {
  address: string;
  port: number;
  /** What each accepted socket saw: bytes, and how it ended. */
  seen: { bytes: string; end?: 'fin' | string }[];
  close(): Promise<void>;
}

/** Answers the first request with `reply`, then closes (FIN) when `close`, else holds the socket. */
async function server(reply: string, close: boolean, address = loopbackAddress()): Promise<Server> {
  const seen: Server['seen'] = [];
  const srv = net.createServer((s) => {
    const rec: Server['seen'][number] = { bytes: '' };
    seen.push(rec);
    s.on('error', (err: NodeJS.ErrnoException) => (rec.end ??= err.code ?? err.message));
    s.on('end', () => (rec.end ??= 'fin'));
    s.on('data', (d) => {
      rec.bytes += d.toString('latin1');
      if (!rec.bytes.includes('\r\n\r\n')) return;
      if (close) s.end(reply);
      else s.write(reply);
    });
  });
  await new Promise<void>((r) => srv.listen(0, address, r));
  return {
    address,
    port: (srv.address() as net.AddressInfo).port,
    seen,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

/** TCP sockets to or from `address` in TIME_WAIT (state 06), from /proc/net/tcp. */
function timeWaits(address: string): number {
  const hex = address.split('.').map((o) => Number(o)).reverse().map((o) => o.toString(16).padStart(2, '0')).join('').toUpperCase();
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').filter((l) => l.includes(hex) && / 06 /.test(l)).length;
}

/** Opens a connection that sends REQUEST once connected. */
function request(address: string, port: number): { rec: Recorder; conn: Conn } {
  const rec = new Recorder();
  const conn = openConn(address, port, rec);
  rec.connected = function () {
    Recorder.prototype.connected.call(this);
    conn.write(Buffer.from(REQUEST));
  };
  return { rec, conn };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REQUEST = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
const ipv6 = await new Promise<boolean>((r) => {
  const probe = net.createServer().once('error', () => r(false));
  probe.listen(0, '::1', () => probe.close(() => r(true)));
});

t.test("connect, request, response, the server's FIN, then an RST close", async (tt) => {
  const srv = await server('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', true);
  tt.teardown(() => srv.close());
  const rounds = 20;
  for (let i = 0; i < rounds; i++) {
    const { rec, conn } = request(srv.address, srv.port);
    await rec.until('ended');
    tt.equal(conn.reusable, false, 'not reusable once the server closed');
    conn.abort();
    conn.abort(); // idempotent
    if (i === 0) {
      tt.same(rec.events, ['connected', 'data', 'ended']);
      tt.equal(rec.data, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }
  }
  await sleep(50);
  tt.equal(srv.seen.length, rounds);
  tt.ok(srv.seen.every((s) => s.bytes === REQUEST), 'the server got exactly the request bytes');
  // The server closed first, so a FIN close from us would leave its side in TIME_WAIT.
  tt.equal(timeWaits(srv.address), 0, 'no TIME_WAIT on either side');
});

t.test('abort while the server holds the connection resets it', async (tt) => {
  const srv = await server('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', false);
  tt.teardown(() => srv.close());
  const { rec, conn } = request(srv.address, srv.port);
  await rec.until('data');
  tt.equal(conn.reusable, true, 'open both ways: reusable');
  conn.abort();
  await sleep(50);
  tt.equal(srv.seen[0].end, 'ECONNRESET', 'the server saw a reset, not a FIN');
  tt.same(rec.events, ['connected', 'data'], 'nothing is reported after abort');
});

t.test("refused and reset are node's error codes; a bad port throws", async (tt) => {
  const address = loopbackAddress();
  const free = await server('', false, address);
  const port = free.port;
  await free.close();
  const refused = new Recorder();
  openConn(address, port, refused);
  await refused.until('errored');
  tt.equal(refused.error?.code, 'ECONNREFUSED');
  tt.match(refused.error?.message ?? '', new RegExp(`ECONNREFUSED ${address.replace(/\./g, '\\.')}:${port}`));

  const resetting = net.createServer((s) => s.resetAndDestroy());
  await new Promise<void>((r) => resetting.listen(0, address, r));
  tt.teardown(() => resetting.close());
  const reset = new Recorder();
  openConn(address, (resetting.address() as net.AddressInfo).port, reset);
  await reset.until('errored');
  tt.equal(reset.error?.code, 'ECONNRESET');

  tt.throws(() => openConn(address, 70000, new Recorder()), RangeError);
});

t.test('IPv6 loopback', { skip: ipv6 ? false : 'no IPv6 loopback here' }, async (tt) => {
  const srv = await server('HTTP/1.1 204 No Content\r\n\r\n', true, '::1');
  tt.teardown(() => srv.close());
  const { rec, conn } = request('::1', srv.port);
  await rec.until('ended');
  conn.abort();
  tt.equal(rec.data, 'HTTP/1.1 204 No Content\r\n\r\n');
});

t.test('the check engine uses public Node APIs only: no process.binding or internalBinding in src/', async (tt) => {
  const { readdirSync } = await import('node:fs');
  const src = new URL('../../src/', import.meta.url);
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  tt.ok(files.length > 50, `scanned ${files.length} files`);
  // Internal bindings change between Node lines without notice (DEP0111), which is why the former
  // libuv-handle transport could only run on the one line it was verified on.
  const internal = files.filter((f) => /\bprocess\s*\.\s*binding\s*\(|\binternalBinding\b|--expose-internals/.test(readFileSync(new URL(f, src), 'utf8')));
  tt.same(internal, []);
});
