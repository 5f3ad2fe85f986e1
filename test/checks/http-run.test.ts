// The http checker's promise-free path (Checker.run, what the scheduler calls) and the shared deadline
// queues behind it (deadlines.ts): against real misbehaving backends, deadlines still end a check at
// its deadline with the phase's code, the unclosed grace is still observed, and many checks sharing
// one deadline lane each end on their own deadline, while checks that finish leave no timer holding
// the process.
import t, { type Test } from 'tap';
import * as net from 'node:net';
import { HttpChecker } from '../../src/checks/http.js';
import { createChecker } from '../../src/checks/index.js';
import { deadlineLanes } from '../../src/checks/deadlines.js';
import type { CheckResult, HttpCheckDef } from '../../src/model/types.js';
import type { Behaviour, BehaviourOptions } from '../../src/sim/behaviours.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { httpDef, loopbackAddress } from './check-defs.js';
import { answerThenStall } from './stall-server.js';

const TIMEOUT = 500;
// Timer lateness on a loaded 2-core machine reaches ~150 ms; the hanging backends never answer, so a
// verdict within deadline + SLACK still proves the deadline ended the check.
const SLACK = 300;

let sim: Simulator;
const addr: Partial<Record<Behaviour, { address: string; port: number }>> = {};
const behaviours: Behaviour[] = ['ok', 'hang-before-headers', 'headers-then-hang', 'never-close', 'trickle'];
const extra: Partial<Record<Behaviour, BehaviourOptions>> = { trickle: { trickleMs: 100 } };

t.before(async () => {
  sim = await startSimulator({ backends: behaviours.map((b) => ({ address: loopbackAddress(), port: 0, behaviour: b, service: 'cxserver', ...extra[b] })) });
  for (const s of sim.list()) addr[s.behaviour] = { address: s.address, port: s.port };
});
t.teardown(() => sim.stop());

/** One run through Checker.run, as the scheduler makes it; also checks `done` comes once and not synchronously. */
function runOnce(tt: Test, checker: { run?: HttpChecker['run'] }, target: { host: string; address: string; port: number }, deadline: number): Promise<CheckResult> {
  return new Promise((resolve, reject) => {
    let calls = 0;
    let returned = false;
    checker.run!(target, deadline, (r, err) => {
      calls++;
      if (!returned) reject(new Error('done was called before run() returned'));
      if (err !== undefined || r === undefined) return reject(err instanceof Error ? err : new Error(String(err)));
      // A second call would come from the connection's later events (close, reset): give them time.
      setTimeout(() => {
        tt.equal(calls, 1, 'done called once');
        resolve(r);
      }, 30);
    });
    returned = true;
  });
}

async function run(tt: Test, b: Behaviour, over: Partial<HttpCheckDef> = {}): Promise<{ r: CheckResult; elapsed: number }> {
  const def = httpDef({ timeoutMs: TIMEOUT, ...over });
  const checker = createChecker(def);
  const start = Date.now();
  const r = await runOnce(tt, checker, { host: 'cxserver.svc.eqiad.wmnet', ...addr[b]! }, start + def.timeoutMs);
  return { r, elapsed: Date.now() - start };
}

function inTime(tt: Test, elapsed: number, timeout = TIMEOUT): void {
  tt.ok(elapsed <= timeout + SLACK, `verdict in ${elapsed} ms, within deadline ${timeout} + ${SLACK} ms`);
}

t.test('run(): an answering server is up, with the same result fields as check()', async (tt) => {
  const { r } = await run(tt, 'ok');
  tt.equal(r.up, true, r.message);
  tt.equal(r.code, 'ok');
  tt.match(r.message, /^HTTP 200, \d+ bytes in [\d.]+ ms$/);
  tt.equal(r.detail?.status, 200);
  tt.equal(r.detail?.url, '/_info');
  const checker = createChecker(httpDef({ timeoutMs: TIMEOUT }));
  const viaCheck = await checker.check({ host: 'cxserver.svc.eqiad.wmnet', ...addr.ok! }, Date.now() + TIMEOUT);
  tt.same(Object.keys(r).sort(), Object.keys(viaCheck).sort());
  tt.same({ ...r.detail }, { ...viaCheck.detail });
});

t.test('run(): a server that never answers ends at the deadline as headers_timeout', async (tt) => {
  const { r, elapsed } = await run(tt, 'hang-before-headers');
  tt.equal(r.code, 'headers_timeout', r.message);
  tt.ok(elapsed >= TIMEOUT - 1, `waited for the deadline (${elapsed} ms)`);
  inTime(tt, elapsed);
});

t.test('run(): headers then nothing ends at the deadline as body_timeout', async (tt) => {
  const { r, elapsed } = await run(tt, 'headers-then-hang');
  tt.equal(r.code, 'body_timeout', r.message);
  tt.match(r.message, /0 of 100 bytes/);
  tt.ok(elapsed >= TIMEOUT - 1, `waited for the deadline (${elapsed} ms)`);
  inTime(tt, elapsed);
});

t.test('run(): a trickling body still ends at the deadline as body_timeout', async (tt) => {
  const { r, elapsed } = await run(tt, 'trickle');
  tt.equal(r.code, 'body_timeout', r.message);
  tt.ok((r.detail?.bytes as number) >= 2, `bytes trickled in before the deadline (${r.detail?.bytes})`);
  tt.ok(elapsed >= TIMEOUT - 1, `waited for the deadline (${elapsed} ms)`);
  inTime(tt, elapsed);
});

t.test('run(): unclosed is still found under warn and fail, and the grace never outlives the deadline', async (tt) => {
  const warn = await run(tt, 'never-close', { unclosed: 'warn', unclosedGraceMs: 150 });
  tt.equal(warn.r.up, true, warn.r.message);
  tt.same(warn.r.findings.map((f) => f.code), ['unclosed']);
  tt.ok(warn.elapsed >= 150, `waited the grace (${warn.elapsed} ms)`);
  const fail = await run(tt, 'never-close', { unclosed: 'fail', unclosedGraceMs: 150 });
  tt.equal(fail.r.code, 'unclosed');
  tt.equal(fail.r.message, 'server kept the connection open 150 ms after a complete response (Connection: close was sent)');
  const cut = await run(tt, 'never-close', { unclosed: 'fail', unclosedGraceMs: 5000, timeoutMs: 300 });
  tt.equal(cut.r.code, 'unclosed');
  inTime(tt, cut.elapsed, 300);
});

t.test('many checks in one deadline lane: each ends at its own deadline, answered ones are unaffected', async (tt) => {
  // Staggered starts 20 ms apart put hanging checks in the same lane (same delay) one after another,
  // with answered checks cancelling their deadlines in between: every hanging one must still end at
  // its own deadline, neither early nor held back by the ones before it.
  const checker = createChecker(httpDef({ timeoutMs: 400 }));
  const runs: Promise<{ r: CheckResult; start: number; end: number; hang: boolean }>[] = [];
  for (let i = 0; i < 8; i++) {
    const hang = i % 2 === 0;
    const start = Date.now();
    const target = { host: 'h', ...addr[hang ? 'hang-before-headers' : 'ok']! };
    runs.push(runOnce(tt, checker, target, start + 400).then((r) => ({ r, start, end: Date.now(), hang })));
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const { r, start, end, hang } of await Promise.all(runs)) {
    if (!hang) {
      tt.equal(r.code, 'ok', r.message);
      continue;
    }
    tt.equal(r.code, 'headers_timeout', r.message);
    tt.ok(end - start >= 399, `not before its deadline (${end - start} ms)`);
    tt.ok(end - start <= 400 + SLACK, `at its deadline (${end - start} ms)`);
  }
});

t.test('finished checks hold no timer: a process that made checks exits at once', async (tt) => {
  // A child process runs one answered check; if a cancelled deadline still held a timer, it would
  // live until that deadline (10 s here) before exiting.
  const { execFile } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const here = fileURLToPath(new URL('.', import.meta.url));
  const { address, port } = addr.ok!;
  const code = `
    const { createChecker } = await import(${JSON.stringify(new URL('../../src/checks/index.ts', import.meta.url).href)});
    const { httpDef } = await import(${JSON.stringify(new URL('./check-defs.ts', import.meta.url).href)});
    const c = createChecker(httpDef({ timeoutMs: 10000, unclosedGraceMs: 10000 }));
    c.run({ host: 'h', address: ${JSON.stringify(address)}, port: ${port} }, Date.now() + 10000, (r) => console.log(r.code));
  `;
  const started = Date.now();
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [...process.execArgv, '--input-type=module', '-e', code], { cwd: here, timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  tt.equal(out.trim(), 'ok');
  tt.ok(Date.now() - started < 8000, `exited in ${Date.now() - started} ms, not at the 10 s deadline`);
});

t.test('deadline lanes are dropped once they drain', async (tt) => {
  await new Promise((r) => setTimeout(r, TIMEOUT + 200));
  tt.equal(deadlineLanes(), 0);
});

t.test('a response that arrived before the deadline counts even when the process stalled past it', async (tt) => {
  // As in http.test.ts, through run() (test/checks/stall-server.ts): the answer and the deadline are
  // both due when the stall ends; the deadline is judged after the poll has read the answer.
  const deadlineIn = 200;
  let deadline = 0;
  const { address, port } = await answerThenStall(tt, () => deadline);
  const c = createChecker(httpDef({ timeoutMs: deadlineIn }));
  deadline = Date.now() + deadlineIn;
  const r = await runOnce(tt, c, { host: 'h', address, port }, deadline);
  tt.equal(r.code, 'ok', r.message);
});

t.test('one target object checked by two checkers: each sends its own request (per-checker memo)', async (tt) => {
  // The scheduler's target objects carry the memo of the one checker that runs them; run-once checks
  // one target with several checkers. Were the memo shared, the second checker would send the
  // first one's Host header.
  const hosts: string[] = [];
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', (d) => {
      hosts.push(/\r\nHost: ([^\r]*)\r\n/.exec(d.toString('latin1'))?.[1] ?? '?');
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
  });
  const address = loopbackAddress();
  await new Promise<void>((r) => server.listen(0, address, r));
  tt.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const a = createChecker(httpDef({ host: 'a.example' }));
  const b = createChecker(httpDef({ host: 'b.example' }));
  const target = { host: 'h', address, port };
  for (let i = 0; i < 2; i++) {
    tt.equal((await runOnce(tt, a, target, Date.now() + TIMEOUT)).code, 'ok');
    tt.equal((await runOnce(tt, b, target, Date.now() + TIMEOUT)).code, 'ok');
    tt.equal((await b.check(target, Date.now() + TIMEOUT)).code, 'ok');
  }
  tt.same(hosts, ['a.example', 'b.example', 'b.example', 'a.example', 'b.example', 'b.example']);
});
