// The flat encoding of check workers' events (shard-codec.ts): what the main thread's listeners get
// must be exactly what they got when whole events crossed as JSON (and, but for keys whose value is
// undefined, what the in-thread scheduler gives them), in the same order, for every shape of result
// and health state.
import t from 'tap';
import { decodeBatch, encodeHealth, encodeResult, sameTarget, type ShardEvent, type ShardEventSink, type TargetTable } from '../../src/checks/shard-codec.js';
import type { CheckRunEvent, ScheduledTarget, TargetHealthEvent } from '../../src/checks/scheduler.js';
import type { HttpCheckDef } from '../../src/model/types.js';
import { applyResult, initialHealth } from '../../src/model/hysteresis.js';
import type { CheckResult } from '../../src/model/types.js';

const ids = { host: 'sca1001.eqiad.wmnet', check: 'http' };
const finishedAt = 1_765_090_000_123;

function runEvent(result: CheckResult, flapping = { transitions: 0, windowMs: 0 }, prior = initialHealth(true, finishedAt - 60_000)): CheckRunEvent {
  const health = applyResult(prior, { rise: 2, fall: 2, flapping }, ids, result, finishedAt).state;
  return {
    target: 'eqiad/cxserver_8080/sca1001.eqiad.wmnet/http',
    service: { dc: 'eqiad', name: 'cxserver_8080' },
    host: ids.host,
    check: 'http',
    kind: 'http',
    address: '10.64.0.1',
    port: 8080,
    result,
    dueAt: finishedAt - 3.25,
    startedAt: finishedAt - 1.5,
    finishedAt,
    latenessMs: 1.75,
    health,
    sharedBy: 2,
  };
}

const up: CheckResult = {
  up: true,
  code: 'ok',
  message: 'HTTP 200, 2 bytes in 0.4 ms',
  timings: { connectMs: 0.1, firstByteMs: 0.3, totalMs: 0.4 },
  findings: [],
  detail: { url: '/_info', target: '10.64.0.1:8080', bytes: 2, status: 200 },
};
const unclosed: CheckResult = {
  ...up,
  findings: [{ code: 'unclosed', message: 'server kept the connection open 100 ms after a complete response', severity: 'warning' }],
};
const refused: CheckResult = {
  up: false,
  code: 'refused',
  message: 'connection refused',
  timings: { connectMs: undefined, firstByteMs: undefined, totalMs: 0.2 },
  findings: [],
  detail: { url: '/_info', target: '10.64.0.1:8080', bytes: 0 },
};
const bare: CheckResult = { up: false, code: 'error', message: 'checker error: boom', timings: { totalMs: 3 }, findings: [] };
const connectedOnly: CheckResult = { ...refused, code: 'headers_timeout', message: 'headers timeout (no response)', timings: { connectMs: 0.2, totalMs: 500 } };

t.test('every shape of result decodes to what its JSON gave, in order, health events in their place', async (t) => {
  // A flapping host with transitions in its window, a host going down (transitions, a new reason).
  const flapping = { transitions: 2, windowMs: 600_000 };
  let h = initialHealth(true, finishedAt - 60_000);
  for (const r of [refused, refused, up, up]) h = applyResult(h, { rise: 2, fall: 2, flapping }, ids, r, finishedAt - 1000).state;
  t.ok(h.transitions.length >= 2 && h.flapping, 'the prior state has transitions and is flapping');
  const events: ShardEvent[] = [
    { kind: 'result', ev: runEvent(up) },
    { kind: 'result', ev: runEvent(unclosed) },
    { kind: 'health', ev: { type: 'went_down', host: ids.host, check: 'http', at: finishedAt, code: 'refused', message: 'connection refused (2 consecutive failures, fall 2)', up: false, flapping: false, target: 'eqiad/cxserver_8080/sca1001.eqiad.wmnet/http', service: { dc: 'eqiad', name: 'cxserver_8080' } } satisfies TargetHealthEvent },
    { kind: 'result', ev: runEvent(refused) },
    { kind: 'result', ev: runEvent(bare) },
    { kind: 'result', ev: runEvent(connectedOnly) },
    { kind: 'result', ev: runEvent(refused, flapping, h) },
  ];
  const batch: unknown[] = [];
  for (const e of events) {
    if (e.kind === 'result') encodeResult(batch, e.ev);
    else encodeHealth(batch, e.ev);
  }
  const got = decodeAll(batch);
  // What crossed before: the events themselves as JSON. Same values and the same key order.
  const before = JSON.parse(JSON.stringify(events)) as ShardEvent[];
  t.same(got, before);
  t.equal(JSON.stringify(got), JSON.stringify(before), 'the same keys in the same order');
  t.ok((got[6].ev as CheckRunEvent).health.transitions.length >= 2, 'transitions kept');
  t.same((got[0].ev as CheckRunEvent).health.last, { at: finishedAt, up: true, code: 'ok', message: up.message }, 'last rebuilt from the result');
  t.ok(JSON.stringify(batch).length < JSON.stringify(events).length / 2, 'the flat batch is less than half the size');
});

t.test('a malformed batch is an error, not a wrong event', async (t) => {
  const batch: unknown[] = [];
  encodeResult(batch, runEvent(up));
  t.throws(() => decodeBatch(batch.slice(0, -1), collect([])), /malformed event batch at 0 of 30/);
  t.throws(() => decodeBatch([7, 'x'], collect([])), /malformed event batch at 0 of 2/);
  const byIndex: unknown[] = [];
  encodeResult(byIndex, runEvent(up), 0);
  t.throws(() => decodeBatch(byIndex, collect([])), /malformed event batch at 0 of 24: no target 0/, 'an index without its target list');
  t.throws(() => decodeBatch(byIndex.slice(0, -1), collect([]), table), /malformed event batch at 0 of 23/);
});

// The target list the events above are about, as the main thread and the worker both hold it.
const check: HttpCheckDef = {
  kind: 'http', name: 'http', timeoutMs: 900, intervalMs: 1000, rise: 2, fall: 2, method: 'GET', scheme: 'http', urls: ['/_info'],
  checkAll: false, maxFailures: 0, headers: {}, tls: { verify: true }, expect: { status: [{ from: 200, to: 200 }] }, unclosed: 'warn',
  unclosedGraceMs: 100, keepAlive: false,
};
const other: ScheduledTarget = { service: { dc: 'eqiad', name: 'citoid' }, host: 'scb1001.eqiad.wmnet', address: '10.64.0.9', port: 4680, check, flapping: { transitions: 0, windowMs: 0 } };
const mine: ScheduledTarget = { service: { dc: 'eqiad', name: 'cxserver_8080' }, host: ids.host, address: '10.64.0.1', port: 8080, check, flapping: { transitions: 0, windowMs: 0 } };
const table: TargetTable = { targets: [other, mine], keys: ['eqiad/citoid/scb1001.eqiad.wmnet/http', 'eqiad/cxserver_8080/sca1001.eqiad.wmnet/http'] };
/** A run event of `mine` as the worker's scheduler gives it: its service object is the target's. */
function mineEvent(result: CheckResult): CheckRunEvent {
  return { ...runEvent(result), service: mine.service };
}

t.test('a result named by its index in the target list decodes to the same event as one sent in full', async (t) => {
  const events = [mineEvent(up), mineEvent(unclosed), mineEvent(refused), mineEvent(bare), mineEvent(connectedOnly)];
  for (const ev of events) t.ok(sameTarget(mine, table.keys[1], ev), 'the event is about the listed target');
  const full: unknown[] = [];
  const byIndex: unknown[] = [];
  for (const ev of events) {
    encodeResult(full, ev);
    encodeResult(byIndex, ev, 1);
  }
  const a = decodeAll(full);
  const b = decodeAll(byIndex, table);
  t.same(b, a);
  t.equal(JSON.stringify(b), JSON.stringify(a), 'the same keys in the same order');
  t.equal((b[0].ev as CheckRunEvent).service, mine.service, "the service object is the target's own, as in-thread");
  t.equal((b[0].ev as CheckRunEvent).target, table.keys[1]);
  t.ok(JSON.stringify(byIndex).length < JSON.stringify(full).length * 0.8, 'and it is smaller');
});

t.test('an event that differs from its list entry in anything it names is not sent by index', async (t) => {
  const ev = mineEvent(up);
  t.ok(sameTarget(mine, table.keys[1], ev));
  t.notOk(sameTarget(other, table.keys[0], ev), 'another target');
  t.notOk(sameTarget(mine, table.keys[0], ev), 'another key');
  t.notOk(sameTarget(mine, table.keys[1], { ...ev, service: { ...mine.service } }), 'an equal service but not the listed one');
  t.notOk(sameTarget(mine, table.keys[1], { ...ev, host: 'sca1002.eqiad.wmnet' }), 'another host');
  t.notOk(sameTarget(mine, table.keys[1], { ...ev, check: 'lvs' }), 'another check name');
  t.notOk(sameTarget(mine, table.keys[1], { ...ev, kind: 'tcp' }), 'another kind (an older definition kept)');
  t.notOk(sameTarget(mine, table.keys[1], { ...ev, address: '10.64.0.2' }), 'another address');
  t.notOk(sameTarget(mine, table.keys[1], { ...ev, port: 8081 }), 'another port');
  t.ok(sameTarget({ ...mine, port: 1, check: { ...check, port: 8080 } }, table.keys[1], ev), "the check's own port is the one connected to");
});

function collect(got: ShardEvent[]): ShardEventSink {
  return { result: (ev) => got.push({ kind: 'result', ev }), health: (ev) => got.push({ kind: 'health', ev }) };
}

/** The batch as the main thread gets it (JSON), decoded. */
function decodeAll(batch: unknown[], with_?: TargetTable): ShardEvent[] {
  const got: ShardEvent[] = [];
  decodeBatch(JSON.parse(JSON.stringify(batch)) as unknown[], collect(got), with_);
  return got;
}
