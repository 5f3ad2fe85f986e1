// The agent's SSE parser: line endings, multi-line data, comments, ids, records split across chunks.
import t from 'tap';
import { SseParser, type SseRecord } from '../../src/lvs/agent-sse.js';

function parse(chunks: string[]): { records: SseRecord[]; comments: string[] } {
  const records: SseRecord[] = [];
  const comments: string[] = [];
  const p = new SseParser((r) => records.push(r), (c) => comments.push(c));
  for (const c of chunks) p.push(c);
  return { records, comments };
}

t.test('LF, CRLF and CR line endings, and records split anywhere', async (t) => {
  const text = 'retry: 2000\n: poold events, last id 4, epoch ab12\n\nid: 5\nevent: pool\ndata: {"a":1}\n\n';
  const whole = parse([text]);
  t.same(whole.comments, ['poold events, last id 4, epoch ab12']);
  t.same(whole.records, [{ id: '5', event: 'pool', data: '{"a":1}' }]);
  t.same(parse([text.replaceAll('\n', '\r\n')]), whole, 'CRLF');
  // A CR ending the input may be half of a CRLF: the parser waits for the next byte (poold sends LF).
  t.same(parse([text.replaceAll('\n', '\r'), 'x']), whole, 'CR');
  // Every split point, CRLF included (a CR at the end of a chunk must wait for its LF).
  const crlf = text.replaceAll('\n', '\r\n');
  for (let i = 1; i < crlf.length; i++) t.same(parse([crlf.slice(0, i), crlf.slice(i)]), whole, `split at ${i}`);
});

t.test('data lines join with newlines; no data, no record; default type is message', async (t) => {
  const r = parse(['data: one\ndata:two\n\nid: 9\n\nevent: gap\ndata: {}\n\n: heartbeat\n\n']);
  t.same(r.records, [{ event: 'message', data: 'one\ntwo' }, { event: 'gap', data: '{}' }], 'an id-only block dispatches nothing, and its id does not stick to the next record');
  t.same(r.comments, ['heartbeat']);
});
