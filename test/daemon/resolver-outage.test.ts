// A resolver outage is not a backend failure. Ten healthy backends defined by name only, poold's
// resolver pointed at a DNS server on loopback that the test controls; the resolver then fails for
// every name (SERVFAIL, then no answer, then refused): nothing is marked down or depooled, /alerts
// says WARNING naming the hosts, and the metrics count it. Then NXDOMAIN for one name: a real
// failure, that host goes down (dns_failure).
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { startDnsResponder } from '../helpers/dns-responder.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { configureResolver } from '../../src/checks/resolve.js';
import type { PoolEvent } from '../../src/api/event-bus.js';
import { json, poolctl, poolsDir, serviceYaml, sleep, startDaemon, text, waitFor } from './harness.js';

const HOSTS = Array.from({ length: 10 }, (_, i) => `ro${1001 + i}.eqiad.wmnet`);
const ADDR = (h: string) => `127.49.0.${Number(h.slice(2, 6)) - 1000}`;
const PORT = 18349;

interface Detail { hosts: { host: string; reason: string; effective: { up: boolean; pooled: boolean } }[] }

t.test('With the resolver made to fail for all names, nothing that was up is depooled, and a WARNING fires', async (t) => {
  const dns = await startDnsResponder(Object.fromEntries(HOSTS.map((h) => [h, ADDR(h)])));
  t.teardown(() => dns.close());
  // poold --resolver 127.0.0.1:PORT does this at start.
  configureResolver({ servers: [dns.server] });
  t.teardown(() => configureResolver({}));
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const sim = await startSimulator({ backends: HOSTS.map((h) => ({ address: ADDR(h), port: PORT, behaviour: 'ok' as const })) });
  t.teardown(() => sim.stop());
  const dir = poolsDir({
    'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({
      name: 'rosvc', cluster: 'ro', ip: '10.2.2.49', port: PORT, threshold: 0.5,
      servers: Object.fromEntries(HOSTS.map((h) => [h, ''])), // by name only
    })}`,
  });
  await poolctl(['sync', dir], etcd.clientUrl);
  const d = await startDaemon(etcd.endpoints, { observer: 'resolver-test' });
  t.teardown(() => d.stop());
  const detail = () => json<Detail>(`${d.url}/v1/pools/eqiad/rosvc_18349`);
  const pooled = (x: Detail) => x.hosts.filter((h) => h.effective.pooled && h.effective.up).map((h) => h.host).sort();
  await waitFor('all ten up and pooled, by name', detail, (x) => pooled(x).join() === HOSTS.join(), 30_000);
  // A host is up before its first check; the outage must start after every name has resolved
  // (a second query for a name means its first answer was used by a check).
  await waitFor('every name resolved by a check', () => Promise.resolve(HOSTS.map((h) => dns.queries.get(h) ?? 0)), (n) => n.every((c) => c >= 2), 30_000);
  t.equal(await text(`${d.url}/alerts`), 'OK - All pools are healthy');

  // Every state change of a host from now on: none may be a host going down or out.
  const lost: PoolEvent[] = [];
  const off = d.view.events.subscribe((e) => {
    if (e.type === 'state' && (e.after === null || !e.after.up || !e.after.pooled)) lost.push(e);
  });
  t.teardown(off);
  const warning = `WARNING - resolver: 10 names served from last-known address: ${HOSTS.join(', ')}. `;

  dns.setMode('servfail');
  await waitFor('the WARNING naming every host', () => text(`${d.url}/alerts`), (a) => a === warning, 45_000);
  await sleep(2000); // several more check rounds (every 300 ms) at the last-known addresses
  t.same(lost, [], 'SERVFAIL: no host went down or was depooled');
  const metrics = await text(`${d.url}/metrics`);
  t.match(metrics, /^poold_resolver_stale_names 10$/m);
  t.match(metrics, /^poold_resolver_failures_total\{kind="servfail"\} [1-9]\d*$/m);
  const during = await detail();
  t.same(pooled(during), HOSTS, 'all ten still up and pooled');
  t.match(during.hosts[0]!.reason, /resolver failing for ro1001\.eqiad\.wmnet: checked at its last-known address 127\.49\.0\.1/);

  dns.setMode('silent'); // the resolver answers nothing: every lookup times out
  await sleep(5000); // longer than a check's timeout (3 s)
  t.same(lost, [], 'no answer: no host went down or was depooled');
  t.equal(await text(`${d.url}/alerts`), warning);
  await dns.down(); // port closed: ECONNREFUSED
  await sleep(3000);
  t.same(lost, [], 'refused: no host went down or was depooled');
  t.equal(await text(`${d.url}/alerts`), warning);
  const m2 = await text(`${d.url}/metrics`);
  t.match(m2, /^poold_resolver_failures_total\{kind="timeout"\} [1-9]\d*$/m);
  t.match(m2, /^poold_resolver_failures_total\{kind="refused"\} [1-9]\d*$/m);
  await dns.up();

  // NXDOMAIN is an answer: ro1003 no longer exists. It goes down; the others stay served.
  dns.setMode('servfail');
  dns.setNameMode('ro1003.eqiad.wmnet', 'nxdomain');
  const gone = await waitFor('ro1003 down and depooled', detail, (x) => {
    const h = x.hosts.find((y) => y.host === 'ro1003.eqiad.wmnet');
    return h !== undefined && !h.effective.up && !h.effective.pooled;
  }, 45_000);
  t.match(gone.hosts.find((h) => h.host === 'ro1003.eqiad.wmnet')!.reason, /dns_failure|ENOTFOUND/);
  t.same(pooled(gone), HOSTS.filter((h) => h !== 'ro1003.eqiad.wmnet'), 'the other nine still up and pooled');
  t.same(lost.map((e) => (e.type === 'state' ? e.host : '')).filter((h) => h !== 'ro1003.eqiad.wmnet'), [], 'only ro1003 went down');
  const nine = HOSTS.filter((h) => h !== 'ro1003.eqiad.wmnet');
  await waitFor('the WARNING without ro1003', () => text(`${d.url}/alerts`),
    (a) => a === `WARNING - resolver: 9 names served from last-known address: ${nine.join(', ')}. `, 10_000);

  // The resolver is back: the warning clears, ro1003 resolves again and comes back.
  dns.setNameMode('ro1003.eqiad.wmnet', undefined);
  dns.setMode('answer');
  await waitFor('all ten up and pooled again', detail, (x) => pooled(x).join() === HOSTS.join(), 45_000);
  await waitFor('/alerts OK', () => text(`${d.url}/alerts`), (a) => a === 'OK - All pools are healthy', 10_000);
  t.match(await text(`${d.url}/metrics`), /^poold_resolver_stale_names 0$/m);
});
