// The framing parser decides when a response is complete: every framing, split at every byte.
import t from 'tap';
import { HttpFramingError, ResponseParser } from '../../src/checks/http-parser.js';

/** Feeds `text` in pieces of `size` bytes; returns the parser and the byte index at which it became done. */
function feed(text: string, size: number, opts: { head?: boolean; keep?: number } = {}): { p: ResponseParser; doneAt: number } {
  const p = new ResponseParser(opts.head ?? false, opts.keep ?? 1 << 20);
  const buf = Buffer.from(text, 'latin1');
  let doneAt = -1;
  for (let i = 0; i < buf.length && doneAt < 0; i += size) {
    if (p.push(buf.subarray(i, i + size)) === 'done') doneAt = Math.min(i + size, buf.length);
  }
  return { p, doneAt };
}

const CL = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nConnection: keep-alive\r\nconnection :\tclose \r\n\r\nhello';
const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n';

t.test('Content-Length: done exactly at the last body byte, however the bytes arrive', async (tt) => {
  for (const size of [1, 2, 3, 7, 1000]) {
    const { p, doneAt } = feed(CL, size);
    tt.equal(doneAt, CL.length, `piece size ${size}`);
    tt.equal(p.body().toString(), 'hello');
    tt.same(p.head, { status: 200, headers: { 'content-length': '5', connection: 'keep-alive, close' } }, 'only the framing headers are kept; repeated ones joined');
  }
  const { p } = feed(CL.slice(0, -1), 1000);
  tt.equal(p.state, 'body', 'one byte short is not complete');
  tt.equal(p.end(), 'body', 'and a close does not complete a length-framed body');
});

t.test('chunked: done at the terminator and trailers, de-chunked body', async (tt) => {
  for (const size of [1, 4, 1000]) {
    const { p, doneAt } = feed(CHUNKED, size);
    tt.equal(doneAt, CHUNKED.length, `piece size ${size}`);
    tt.equal(p.body().toString(), 'hello world');
    tt.equal(p.bodyBytes, 11);
  }
  const withoutEnd = feed(CHUNKED.slice(0, CHUNKED.indexOf('0\r\n')), 1000);
  tt.equal(withoutEnd.p.state, 'body', 'no terminating chunk: not complete');
});

t.test('no body: HEAD, 204, 304, and Content-Length: 0', async (tt) => {
  tt.equal(feed('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n', 1000, { head: true }).p.state, 'done');
  tt.equal(feed('HTTP/1.1 204 No Content\r\n\r\n', 1000).p.state, 'done');
  tt.equal(feed('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', 1000).p.state, 'done');
  tt.equal(feed('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 1000).p.state, 'done');
});

t.test('close-delimited body completes only at the close', async (tt) => {
  const { p } = feed('HTTP/1.0 200 OK\r\n\r\nabc', 1000);
  tt.equal(p.state, 'body');
  tt.equal(p.end(), 'done');
  tt.equal(p.body().toString(), 'abc');
});

t.test('1xx interim responses are skipped', async (tt) => {
  const { p } = feed('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno', 5);
  tt.equal(p.state, 'done');
  tt.equal(p.head?.status, 404);
});

t.test('only keepBodyBytes are kept, all are counted', async (tt) => {
  const { p } = feed(CL, 1000, { keep: 2 });
  tt.equal(p.body().toString(), 'he');
  tt.equal(p.bodyBytes, 5);
  tt.equal(p.bodyTruncated, true);
});

t.test('malformed responses are framing errors', async (tt) => {
  tt.throws(() => feed('SSH-2.0-OpenSSH\r\n\r\n', 1000), HttpFramingError);
  for (const line of ['HTTP/1.1 20 OK', 'HTTP/1.2 200 OK', 'HTTP/1.1 2000 OK', 'HTTP/1.1 200OK', 'HTTP/1.1  200 OK', 'http/1.1 200 OK']) {
    tt.throws(() => feed(`${line}\r\nContent-Length: 0\r\n\r\n`, 1000), /bad status line/, line);
  }
  tt.equal(feed('HTTP/1.0 503\r\nContent-Length: 0\r\n\r\n', 1000).p.head?.status, 503, 'a status line without a reason is fine');
  tt.throws(() => feed('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', 1000), /bad header line "no colon here"/);
  tt.throws(() => feed('HTTP/1.1 200 OK\r\n: empty name\r\n\r\n', 1000), /bad header line/);
  tt.throws(() => feed('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', 1000), /bad Content-Length "5, 6"/, 'conflicting lengths are refused');
  tt.equal(feed('HTTP/1.1 200 OK\r\nContent\rLength: 5\r\n\r\n', 1000).p.state, 'body', 'a name is matched exactly, not by bit tricks');
  tt.throws(() => feed('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n', 1000), /bad Content-Length/);
  tt.throws(() => feed('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 1000), /bad chunk size/);
  tt.throws(() => feed(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70000)}`, 1000), /larger than/);
});

t.test('only the given length of a (shared, reused) read buffer is this response', async (tt) => {
  const shared = Buffer.alloc(256, 'x');
  // Stale bytes of another connection after the length: a head end and a body that must not count.
  shared.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nSTALE\r\n\r\n', 100, 'latin1');
  const p = new ResponseParser(false, 1024);
  const first = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n', 'latin1');
  first.copy(shared, 0);
  tt.equal(p.push(shared, first.length), 'head', 'no head end within the length');
  const rest = Buffer.from('\r\nab', 'latin1');
  shared.fill('x', 0, 100);
  rest.copy(shared, 0);
  tt.equal(p.push(shared, rest.length), 'body');
  tt.equal(p.bodyBytes, 2);
  shared.write('cd', 0, 'latin1');
  tt.equal(p.push(shared, 2), 'done');
  shared.fill('z', 0, 4); // the buffer is reused at once: the kept body must be a copy
  tt.equal(p.body().toString(), 'abcd');
});
