// Backend name resolution through a real DNS server on loopback (test/helpers/dns-responder.ts):
// a resolver outage (SERVFAIL, no answer, refused) keeps a name's last-known address, marked stale;
// NXDOMAIN is an answer about the name and forgets it.
import * as net from 'node:net';
import t from 'tap';
import { NameResolver } from '../../src/checks/name-resolver.js';
import { configureResolver, nameResolver } from '../../src/checks/resolve.js';
import { createChecker } from '../../src/checks/index.js';
import { resolverStaleFinding } from '../../src/model/resolver-stale.js';
import { startDnsResponder } from '../helpers/dns-responder.js';
import { tcpDef } from './check-defs.js';

const dns = await startDnsResponder({ 'a.test': '127.51.0.1', 'b.test': '127.51.0.2', 'c.test': '127.51.0.3', 'e.test': '127.51.0.5', 'tcp1.test': '127.0.0.1' });
t.teardown(() => dns.close());
const opts = () => ({ servers: [dns.server], staleBudgetMs: 300, retryMs: 50, queryTimeoutMs: 200 });
const soon = (ms = 2000) => Date.now() + ms;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('SERVFAIL: a name that resolved keeps its last-known address; one that never did fails', async (t) => {
  dns.setMode('answer');
  const r = new NameResolver(opts());
  t.same(await r.resolve('a.test', soon()), { address: '127.51.0.1' });
  dns.setMode('servfail');
  const s = await r.resolve('a.test', soon());
  t.match(s, { address: '127.51.0.1', stale: { name: 'a.test', address: '127.51.0.1', kind: 'servfail' } });
  t.same(r.staleNames().map((n) => n.name), ['a.test']);
  const never = await r.resolve('b.test', soon());
  t.match(never, { failure: { code: 'dns_failure', message: /b\.test: ESERVFAIL/ } });
  t.ok(r.failures().servfail >= 2, 'counted by kind');
  dns.setMode('answer');
  await sleep(100); // past retryMs: the next check asks again (in the background)
  await r.resolve('a.test', soon());
  await sleep(300);
  t.same(await r.resolve('a.test', soon()), { address: '127.51.0.1' }, 'resolver back: no longer stale');
  t.same(r.staleNames(), []);
});

t.test('no answer: with a last-known address the check waits only its budget, without one until the deadline', async (t) => {
  dns.setMode('answer');
  const r = new NameResolver(opts());
  await r.resolve('c.test', soon());
  dns.setMode('silent');
  const t0 = Date.now();
  const s = await r.resolve('c.test', soon(3000));
  const took = Date.now() - t0;
  t.match(s, { address: '127.51.0.3', stale: { kind: 'timeout' } });
  t.ok(took < 2000, `served from last-known after ${took} ms (budget 300 ms), leaving the check its time`);
  const t1 = Date.now();
  t.same(await r.resolve('c.test', soon(3000)), s, 'while stale: the last-known address at once');
  t.ok(Date.now() - t1 < 100);
  t.match(await r.resolve('b.test', soon(600)), { failure: { code: 'deadline' } }, 'never resolved: fails at the deadline');
  dns.setMode('answer');
});

t.test('resolver refusing (port closed): stale, kind refused', async (t) => {
  dns.setMode('answer');
  const r = new NameResolver(opts());
  await r.resolve('e.test', soon());
  await dns.down();
  t.teardown(() => dns.up());
  const s = await r.resolve('e.test', soon(3000));
  t.match(s, { address: '127.51.0.5', stale: { name: 'e.test' } });
  // c-ares reports ECONNREFUSED when the ICMP error reaches it, else it times out first.
  await sleep(600);
  t.ok(r.failures().refused + r.failures().timeout >= 1, JSON.stringify(r.failures()));
  t.ok(r.failures().refused >= 1, `ICMP port unreachable seen as refused: ${JSON.stringify(r.failures())}`);
  await dns.up();
});

t.test('NXDOMAIN is an answer: the last-known address is forgotten and the name fails', async (t) => {
  dns.setMode('answer');
  const r = new NameResolver(opts());
  await r.resolve('a.test', soon());
  dns.setMode('servfail');
  t.match(await r.resolve('a.test', soon()), { stale: { kind: 'servfail' } });
  dns.setNameMode('a.test', 'nxdomain');
  await sleep(100);
  await r.resolve('a.test', soon()); // still stale; asks again in the background
  await sleep(300);
  t.match(await r.resolve('a.test', soon()), { failure: { code: 'dns_failure', message: /a\.test: ENOTFOUND/ } });
  t.same(r.staleNames(), []);
  t.ok(r.failures().nxdomain >= 1);
  dns.setNameMode('a.test', undefined);
  dns.setMode('answer');
});

t.test('the system resolver (no servers) still resolves through getaddrinfo', async (t) => {
  const r = new NameResolver();
  const a = await r.resolve('localhost', soon());
  t.match(a, { address: /^(127\.0\.0\.1|::1)$/ });
});

t.test('a check run at a stale address carries a warning finding', async (t) => {
  const srv = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const port = (srv.address() as net.AddressInfo).port;
  configureResolver(opts());
  t.teardown(() => configureResolver({}));
  dns.setMode('answer');
  const checker = createChecker(tcpDef({ port }));
  const target = { host: 'tcp1.test', address: 'tcp1.test', port };
  const ok = await checker.check(target, soon());
  t.equal(ok.up, true, ok.message);
  t.same(ok.findings, []);
  dns.setMode('servfail');
  const stale = await checker.check(target, soon());
  t.equal(stale.up, true, 'the backend is checked at its last-known address, and is up');
  t.same(stale.findings, [resolverStaleFinding('tcp1.test', '127.0.0.1')]);
  t.equal(nameResolver().staleNames().length, 1);
  dns.setMode('answer');
});
