// The http check against real sockets served by the backend simulator: every behaviour yields its
// exact reason code, and every verdict arrives within the deadline + 100 ms.
import t, { type Test } from 'tap';
import { HttpChecker } from '../../src/checks/http.js';
import type { HttpCheckDef, CheckResult } from '../../src/model/types.js';
import type { Behaviour, BehaviourOptions } from '../../src/sim/behaviours.js';
import { makeSelfSigned, SIM_CERT_NAME } from '../../src/sim/tls-cert.js';
import { CA_RECHECK_MS } from '../../src/checks/tls-context.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { httpDef, loopbackAddress } from './check-defs.js';
import { answerThenStall } from './stall-server.js';

const TIMEOUT = 500;
// Timer lateness on a loaded 2-core CI machine reaches ~150 ms; the slow backends answer well after
// deadline + slack, so a verdict within it still proves the deadline cut the check short.
const SLACK = 300;

let sim: Simulator;
const addr: Partial<Record<Behaviour, { address: string; port: number }>> = {};
const extra: Partial<Record<Behaviour, BehaviourOptions>> = {
  'slow-under': { delayMs: 300 },
  'slow-over': { delayMs: 1500 },
  trickle: { trickleMs: 100 },
  flapping: { flapEvery: { requests: 2 } },
};
const plain: Behaviour[] = [
  'ok',
  '404-root',
  'hang-before-headers',
  'headers-then-hang',
  'never-close',
  'trickle',
  'empty-200',
  'reset',
  'slow-under',
  'slow-over',
  'wrong-body',
  'bad-tls',
  'flapping',
];

t.before(async () => {
  const specs = plain.map((b) => ({ address: loopbackAddress(), port: 0, behaviour: b, service: 'cxserver', ...extra[b] }));
  sim = await startSimulator({ backends: specs });
  // Ports were chosen by the kernel: read them back.
  for (const s of sim.list()) addr[s.behaviour] = { address: s.address, port: s.port };
});
t.teardown(() => sim.stop());

async function run(b: Behaviour, over: Partial<HttpCheckDef> = {}): Promise<{ r: CheckResult; elapsed: number; def: HttpCheckDef }> {
  const def = httpDef({ timeoutMs: TIMEOUT, ...over });
  const checker = new HttpChecker(def);
  const { address, port } = addr[b]!;
  const start = Date.now();
  const r = await checker.check({ host: 'cxserver.svc.eqiad.wmnet', address, port }, start + def.timeoutMs);
  const elapsed = Date.now() - start;
  await checker.close();
  return { r, elapsed, def };
}

function inTime(tt: Test, elapsed: number, timeout = TIMEOUT): void {
  tt.ok(elapsed <= timeout + SLACK, `verdict in ${elapsed} ms, within deadline ${timeout} + ${SLACK} ms`);
}

t.test('ok: /_info JSON with body rules is up', async (tt) => {
  const { r, elapsed } = await run('ok', { expect: { status: [{ from: 200, to: 200 }], body: { nonEmpty: true, contains: 'cxserver', json: { path: 'name', equals: 'cxserver' } } } });
  tt.equal(r.up, true, r.message);
  tt.equal(r.code, 'ok');
  tt.same(r.findings, []);
  tt.equal(r.detail?.status, 200);
  tt.type(r.timings.connectMs, 'number');
  tt.type(r.timings.firstByteMs, 'number');
  tt.ok(r.timings.totalMs < TIMEOUT);
  inTime(tt, elapsed);
});

t.test('404-root: / is `status 404 (expected 200)` while /_info is up', async (tt) => {
  const root = await run('404-root', { urls: ['/'] });
  tt.equal(root.r.up, false);
  tt.equal(root.r.code, 'status');
  tt.equal(root.r.message, 'status 404 (expected 200)');
  inTime(tt, root.elapsed);
  const info = await run('404-root', { urls: ['/_info'] });
  tt.equal(info.r.up, true, info.r.message);
  tt.equal(info.r.code, 'ok');
});

t.test('status ranges are honoured and named in the message', async (tt) => {
  const { r } = await run('404-root', { urls: ['/'], expect: { status: [{ from: 200, to: 299 }, { from: 301, to: 302 }] } });
  tt.equal(r.message, 'status 404 (expected 200-299, 301-302)');
  const accepted = await run('404-root', { urls: ['/'], expect: { status: [{ from: 200, to: 299 }, { from: 404, to: 404 }] } });
  tt.equal(accepted.r.up, true);
});

t.test('hang-before-headers: headers_timeout at the deadline', async (tt) => {
  const { r, elapsed } = await run('hang-before-headers');
  tt.equal(r.up, false);
  tt.equal(r.code, 'headers_timeout', r.message);
  tt.ok(elapsed >= TIMEOUT - 5, `waited for the deadline (${elapsed} ms)`);
  inTime(tt, elapsed);
});

t.test('headers-then-hang: body_timeout at the deadline', async (tt) => {
  const { r, elapsed } = await run('headers-then-hang');
  tt.equal(r.code, 'body_timeout', r.message);
  tt.match(r.message, /0 of 100 bytes/);
  tt.equal(r.detail?.status, 200);
  inTime(tt, elapsed);
});

t.test('trickle: a body that keeps trickling still ends at the deadline as body_timeout', async (tt) => {
  const { r, elapsed } = await run('trickle');
  tt.equal(r.up, false);
  tt.equal(r.code, 'body_timeout', r.message);
  tt.ok((r.detail?.bytes as number) >= 2, `some bytes trickled in before the deadline (${r.detail?.bytes})`);
  tt.ok(elapsed >= TIMEOUT - 5);
  inTime(tt, elapsed);
});

t.test('never-close under each unclosed policy', async (tt) => {
  const warn = await run('never-close', { unclosed: 'warn', unclosedGraceMs: 150 });
  tt.equal(warn.r.up, true, warn.r.message);
  tt.equal(warn.r.code, 'ok');
  tt.equal(warn.r.findings.length, 1);
  tt.equal(warn.r.findings[0].code, 'unclosed');
  tt.equal(warn.r.findings[0].severity, 'warning');
  tt.ok(warn.elapsed >= 150, `waited the grace (${warn.elapsed} ms)`);
  inTime(tt, warn.elapsed);

  const fail = await run('never-close', { unclosed: 'fail', unclosedGraceMs: 150 });
  tt.equal(fail.r.up, false);
  tt.equal(fail.r.code, 'unclosed');
  tt.equal(fail.r.message, 'server kept the connection open 150 ms after a complete response (Connection: close was sent)');
  inTime(tt, fail.elapsed);

  const ignore = await run('never-close', { unclosed: 'ignore', unclosedGraceMs: 150 });
  tt.equal(ignore.r.up, true);
  tt.same(ignore.r.findings, []);
  tt.ok(ignore.elapsed < 150, `ignore does not wait for the close (${ignore.elapsed} ms)`);
  await new Promise((r) => setTimeout(r, 250));
  const { address, port } = addr['never-close']!;
  tt.equal(sim.stats(address, port).open, 0, 'the lingering socket was closed in the background after the grace');
});

t.test('a well-behaved server closes: no unclosed finding even under fail', async (tt) => {
  const { r, elapsed } = await run('ok', { unclosed: 'fail', unclosedGraceMs: 300 });
  tt.equal(r.up, true);
  tt.same(r.findings, []);
  tt.ok(elapsed < 300, `did not wait for the grace (${elapsed} ms)`);
});

t.test('the unclosed grace never runs past the deadline', async (tt) => {
  const { r, elapsed } = await run('never-close', { unclosed: 'fail', unclosedGraceMs: 5000, timeoutMs: 300 });
  tt.equal(r.code, 'unclosed');
  inTime(tt, elapsed, 300);
});

t.test('empty-200 with nonEmpty is empty_body', async (tt) => {
  const { r, elapsed } = await run('empty-200', { expect: { status: [{ from: 200, to: 200 }], body: { nonEmpty: true } } });
  tt.equal(r.up, false);
  tt.equal(r.code, 'empty_body');
  inTime(tt, elapsed);
  const noRule = await run('empty-200');
  tt.equal(noRule.r.up, true, 'without body rules an empty 200 is up (PyBal)');
});

t.test('wrong-body: contains, regex and json rules give body_mismatch', async (tt) => {
  const contains = await run('wrong-body', { expect: { status: [{ from: 200, to: 200 }], body: { contains: 'cxserver' } } });
  tt.equal(contains.r.code, 'body_mismatch');
  tt.equal(contains.r.message, 'body does not contain "cxserver"');
  const regex = await run('wrong-body', { expect: { status: [{ from: 200, to: 200 }], body: { regex: '"name":\\s*"cx' } } });
  tt.equal(regex.r.code, 'body_mismatch');
  const json = await run('wrong-body', { expect: { status: [{ from: 200, to: 200 }], body: { json: { path: 'status', equals: 'ok' } } } });
  tt.equal(json.r.code, 'body_mismatch');
  tt.equal(json.r.message, 'JSON status is "maintenance" (expected "ok")');
  inTime(tt, json.elapsed);
});

t.test('reset: RST on accept is reset', async (tt) => {
  const { r, elapsed } = await run('reset');
  tt.equal(r.up, false);
  tt.equal(r.code, 'reset', r.message);
  inTime(tt, elapsed);
});

t.test('refused: nothing listening is refused', async (tt) => {
  const sim2 = await startSimulator({ backends: [{ address: loopbackAddress(), port: 0, behaviour: 'ok' }] });
  tt.teardown(() => sim2.stop());
  const [{ address, port }] = sim2.list();
  await sim2.setBehaviour(address, port, 'refused');
  const checker = new HttpChecker(httpDef());
  const start = Date.now();
  const r = await checker.check({ host: 'h', address, port }, start + TIMEOUT);
  tt.equal(r.code, 'refused');
  tt.equal(r.message, 'connection refused');
  inTime(tt, Date.now() - start);
  await sim2.setBehaviour(address, port, 'ok');
  const back = await checker.check({ host: 'h', address, port }, Date.now() + TIMEOUT);
  tt.equal(back.up, true, 'listening again after switching back to ok');
});

t.test('slow-under is up, slow-over is headers_timeout', async (tt) => {
  const under = await run('slow-under');
  tt.equal(under.r.up, true, under.r.message);
  tt.ok(under.elapsed >= 300);
  inTime(tt, under.elapsed);
  const over = await run('slow-over');
  tt.equal(over.r.code, 'headers_timeout');
  inTime(tt, over.elapsed);
});

t.test('bad-tls: verify gives tls_error with its cause; verify:false and a CA file are up', async (tt) => {
  const bad = await run('bad-tls', { scheme: 'https' });
  tt.equal(bad.r.up, false);
  tt.equal(bad.r.code, 'tls_error');
  // The cause is named by OpenSSL's verify code, not by node's wording (which differs between lines).
  tt.equal(bad.r.message, 'TLS error: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)');
  inTime(tt, bad.elapsed);
  const noVerify = await run('bad-tls', { scheme: 'https', tls: { verify: false } });
  tt.equal(noVerify.r.up, true, noVerify.r.message);
  const withCa = await run('bad-tls', { scheme: 'https', tls: { verify: true, ca: sim.certPath()!, sni: SIM_CERT_NAME } });
  tt.equal(withCa.r.up, true, `trusting the cert as CA, SNI ${SIM_CERT_NAME}: ${withCa.r.message}`);
  const wrongName = await run('bad-tls', { scheme: 'https', tls: { verify: true, ca: sim.certPath()!, sni: 'other.test' } });
  tt.equal(wrongName.r.code, 'tls_error');
  tt.equal(wrongName.r.message, `TLS error: certificate names ${SIM_CERT_NAME}, not other.test (ERR_TLS_CERT_ALTNAME_INVALID)`);
});

t.test('a rotated CA file is picked up without a restart, within CA_RECHECK_MS', async (tt) => {
  const { copyFileSync, mkdtempSync, rmSync, utimesSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const other = makeSelfSigned();
  const dir = mkdtempSync(join(tmpdir(), 'poold-ca-rotate-'));
  tt.teardown(() => {
    other.remove();
    rmSync(dir, { recursive: true, force: true });
  });
  const ca = join(dir, 'ca.pem');
  copyFileSync(other.certPath, ca);
  const tlsOver = { scheme: 'https' as const, tls: { verify: true, ca, sni: SIM_CERT_NAME } };
  const before = await run('bad-tls', tlsOver);
  tt.equal(before.r.code, 'tls_error', 'a CA that did not sign the backend: tls_error');
  copyFileSync(sim.certPath()!, ca);
  const later = new Date(Date.now() + 5000);
  utimesSync(ca, later, later);
  await new Promise((r) => setTimeout(r, CA_RECHECK_MS + 50));
  const after = await run('bad-tls', tlsOver);
  tt.equal(after.r.up, true, `the rotated CA is used: ${after.r.message}`);
});

t.test('https to a plain-http port is a tls_error named by OpenSSL reason and code, without its build paths', async (tt) => {
  // What nginx does with a ClientHello on a plain port: answers 400 in plain text.
  const { createServer } = await import('node:net');
  const plainHttp = createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
  });
  await new Promise<void>((r) => plainHttp.listen(0, '127.0.0.1', r));
  tt.teardown(() => plainHttp.close());
  const checker = new HttpChecker(httpDef({ timeoutMs: TIMEOUT, scheme: 'https', tls: { verify: false } }));
  const start = Date.now();
  const r = await checker.check({ host: 'h', address: '127.0.0.1', port: (plainHttp.address() as { port: number }).port }, start + TIMEOUT);
  const elapsed = Date.now() - start;
  tt.equal(r.code, 'tls_error');
  tt.equal(r.message, 'TLS error: wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)');
  inTime(tt, elapsed);
});

t.test('plain http to a TLS port fails, not hangs', async (tt) => {
  const { r, elapsed } = await run('bad-tls', { scheme: 'http' });
  tt.equal(r.up, false);
  inTime(tt, elapsed);
});

t.test('flapping alternates ok and 503 every 2 requests', async (tt) => {
  const checker = new HttpChecker(httpDef());
  const { address, port } = addr.flapping!;
  const seq: [boolean, string][] = [];
  for (let i = 0; i < 6; i++) {
    const start = Date.now();
    const r = await checker.check({ host: 'h', address, port }, start + TIMEOUT);
    inTime(tt, Date.now() - start);
    seq.push([r.up, r.code]);
  }
  tt.same(seq, [[true, 'ok'], [true, 'ok'], [false, 'status'], [false, 'status'], [true, 'ok'], [true, 'ok']]);
});

t.test('checkAll with maxFailures (PyBal semantics)', async (tt) => {
  const strict = await run('404-root', { urls: ['/', '/_info'], checkAll: true, maxFailures: 0 });
  tt.equal(strict.r.up, false);
  tt.equal(strict.r.code, 'status');
  tt.match(strict.r.message, /1 of 2 URLs failed \(max 0\): \/: status 404 \(expected 200\)/);
  const tolerant = await run('404-root', { urls: ['/', '/_info'], checkAll: true, maxFailures: 1 });
  tt.equal(tolerant.r.up, true);
  tt.equal(tolerant.r.findings.length, 1, 'the tolerated failure is still reported');
  tt.equal(tolerant.r.findings[0].code, 'status');
  const bothBad = await run('404-root', { urls: ['/', '/nope'], checkAll: true, maxFailures: 1 });
  tt.equal(bothBad.r.up, false);
  const { address, port } = addr.ok!;
  const before = sim.stats(address, port).requests;
  const all = await run('ok', { urls: ['/', '/_info', '/x'], checkAll: true, maxFailures: 1 });
  tt.equal(sim.stats(address, port).requests - before, 3, 'checkAll fetches every URL each round');
  tt.equal(all.r.up, true, '/x (404) is the one tolerated failure');
});

t.test('without checkAll one URL per round, rotating', async (tt) => {
  const checker = new HttpChecker(httpDef({ urls: ['/', '/_info'] }));
  const { address, port } = addr['404-root']!;
  const first = await checker.check({ host: 'h', address, port }, Date.now() + TIMEOUT);
  const second = await checker.check({ host: 'h', address, port }, Date.now() + TIMEOUT);
  tt.same([first.up, first.detail?.url, second.up, second.detail?.url], [false, '/', true, '/_info']);
});

t.test('HEAD: no body is read even with Content-Length', async (tt) => {
  const { r, elapsed } = await run('ok', { method: 'HEAD', unclosed: 'fail' });
  tt.equal(r.up, true, r.message);
  tt.equal(r.detail?.bytes, 0);
  tt.ok(elapsed < 100, `complete at the head (${elapsed} ms)`);
});

t.test('keepAlive reuses one connection; the default opens one per check', async (tt) => {
  const sim2 = await startSimulator({ backends: [{ address: loopbackAddress(), port: 0, behaviour: 'ok', service: 'cxserver' }] });
  tt.teardown(() => sim2.stop());
  const [{ address, port }] = sim2.list();
  const ka = new HttpChecker(httpDef({ keepAlive: true }));
  for (let i = 0; i < 3; i++) tt.equal((await ka.check({ host: 'h', address, port }, Date.now() + TIMEOUT)).up, true);
  tt.equal(sim2.stats(address, port).connections, 1, 'one connection for three keep-alive checks');
  tt.equal(sim2.stats(address, port).requests, 3);
  await ka.close();
  const fresh = new HttpChecker(httpDef());
  for (let i = 0; i < 3; i++) tt.equal((await fresh.check({ host: 'h', address, port }, Date.now() + TIMEOUT)).up, true);
  tt.equal(sim2.stats(address, port).connections, 4, 'three more connections without keepAlive');
});

t.test('keepAlive recovers when the server dropped the idle connection', async (tt) => {
  const sim2 = await startSimulator({ backends: [{ address: loopbackAddress(), port: 0, behaviour: 'ok' }] });
  tt.teardown(() => sim2.stop());
  const [{ address, port }] = sim2.list();
  const ka = new HttpChecker(httpDef({ keepAlive: true }));
  tt.equal((await ka.check({ host: 'h', address, port }, Date.now() + TIMEOUT)).up, true);
  await sim2.setBehaviour(address, port, 'refused'); // destroys open connections
  await sim2.setBehaviour(address, port, 'ok');
  const r = await ka.check({ host: 'h', address, port }, Date.now() + TIMEOUT);
  tt.equal(r.up, true, r.message);
  tt.equal(sim2.stats(address, port).connections, 2);
  await ka.close();
});

t.test('Host header and extra headers are sent', async (tt) => {
  const net = await import('node:net');
  let seen = '';
  const server = net.createServer((s) => {
    // Checks close with RST (as HAProxy's do): any server must expect ECONNRESET from clients.
    s.on('error', () => undefined);
    s.on('data', (d) => {
      seen += d.toString();
      if (seen.includes('\r\n\r\n')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
  });
  const address = loopbackAddress();
  await new Promise<void>((r) => server.listen(0, address, r));
  tt.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const c = new HttpChecker(httpDef({ host: 'cxserver.svc.eqiad.wmnet', headers: { 'X-Client-IP': '10.0.0.1' }, urls: ['/_info?x=1'] }));
  const r = await c.check({ host: 'sca1001.eqiad.wmnet', address, port }, Date.now() + TIMEOUT);
  tt.equal(r.up, true);
  tt.match(seen, /^GET \/_info\?x=1 HTTP\/1\.1\r\n/);
  tt.match(seen, /\r\nHost: cxserver\.svc\.eqiad\.wmnet\r\n/);
  tt.match(seen, /\r\nX-Client-IP: 10\.0\.0\.1\r\n/);
  tt.match(seen, /\r\nConnection: close\r\n/);
  seen = '';
  const byTarget = new HttpChecker(httpDef());
  await byTarget.check({ host: 'sca1001.eqiad.wmnet', address, port }, Date.now() + TIMEOUT);
  tt.match(seen, /\r\nHost: sca1001\.eqiad\.wmnet\r\n/, 'without a host setting the target host name is the Host header');
});

t.test('a name that does not resolve is dns_failure', async (tt) => {
  const c = new HttpChecker(httpDef());
  const r = await c.check({ host: 'h', address: 'no-such-host.invalid', port: 80 }, Date.now() + TIMEOUT);
  tt.equal(r.code, 'dns_failure');
});

t.test('a deadline already past is `deadline`', async (tt) => {
  const c = new HttpChecker(httpDef());
  const r = await c.check({ host: 'h', address: '127.0.0.1', port: 9 }, Date.now() - 1);
  tt.equal(r.code, 'deadline');
});

t.test('bad definitions are rejected with what and where', async (tt) => {
  tt.throws(() => new HttpChecker(httpDef({ urls: [] })), /http check http: no urls/);
  tt.throws(() => new HttpChecker(httpDef({ urls: ['no-slash'] })), /must start with \//);
  tt.throws(() => new HttpChecker(httpDef({ headers: { 'X-A': 'a\r\nb' } })), /contains CR, LF/);
  tt.throws(() => new HttpChecker(httpDef({ scheme: 'https', tls: { verify: true, ca: '/nonexistent/ca.pem' } })), /http check http: cannot read CA file \/nonexistent\/ca\.pem/);
  tt.throws(() => new HttpChecker(httpDef({ scheme: 'https', tls: { verify: true, ca: '/etc/hostname' } })), /CA file \/etc\/hostname is not usable PEM/);
});

t.test('a response that arrived before the deadline counts even when poold stalled past it', async (tt) => {
  // test/checks/stall-server.ts: the answer and the deadline timer are both due when the stall ends,
  // and the loop runs timers before it reads I/O.
  const deadlineIn = 200;
  let deadline = 0;
  const { address, port } = await answerThenStall(tt, () => deadline);
  const c = new HttpChecker(httpDef({ timeoutMs: deadlineIn }));
  deadline = Date.now() + deadlineIn;
  const r = await c.check({ host: 'h', address, port }, deadline);
  tt.equal(r.code, 'ok', r.message);
  tt.equal(r.up, true);
});
