// Incident replay: Parsoid. `/` answered but never closed the connection, so checks that waited for
// EOF timed out while real traffic was fine; and a planned restart paged everyone. poold: a check is
// complete by its framing, the open socket is an `unclosed` warning (no depool); a planned depool
// schedules Icinga downtime on a real Icinga 2 API loaded with poold's generated config; a rolling
// restart goes one host at a time.
import t from 'tap';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startScenario, waitAllServing, waitFor, sleep } from '../helpers/scenario.js';
import { startIcingaApi } from '../monitoring/icinga-api.js';

const PORT = 18152;
const VIP = '10.2.2.28';
/** The LVS service (PyBal section) over conftool pool eqiad/parsoid/parsoid: pools/ service `parsoid` on PORT. */
const NAME = `parsoid_${PORT}`;
const SECTION = `eqiad/${NAME}`;
const addr = (n: number) => `127.52.0.${n}`;
const host = (n: number) => `wtp100${n}.eqiad.wmnet`;
const HOSTS = [1, 2, 3, 4].map(host);

const POOLS = `dc: eqiad
services:
  parsoid:
    cluster: parsoid
    lvs: { ip: ${VIP}, port: ${PORT} }
    depool_threshold: 0.5
    checks:
      - kind: http
        path: /
        host: parsoid.svc.eqiad.wmnet
        timeout: 1s
        interval: 300ms
        rise: 2
        fall: 1
        unclosed: warn
        unclosed_grace: 200ms
    servers:
${[1, 2, 3, 4].map((n) => `      ${host(n)}: { weight: 10, address: ${addr(n)} }`).join('\n')}
`;

// wtp1001 runs the buggy code: complete, framed responses, then the socket is never closed.
const s = await startScenario(t, {
  pools: POOLS,
  backends: [1, 2, 3, 4].map((n) => ({ address: addr(n), port: PORT, behaviour: n === 1 ? 'never-close' as const : 'ok' as const, service: 'parsoid' })),
});

t.test('a never-closing backend is not depooled; it carries an unclosed warning', async (t) => {
  await waitAllServing(s, SECTION, 4, VIP, PORT);
  const st = await waitFor('unclosed finding on wtp1001', () => s.state(SECTION),
    (x) => (x?.servers[host(1)].findings ?? []).some((f) => f.code === 'unclosed'), 5000);
  const f = st!.servers[host(1)].findings.find((x) => x.code === 'unclosed')!;
  t.equal(f.severity, 'warning', 'severity from the pool\'s unclosed: warn');
  t.match(f.message, /kept the connection open/);
  // Ten check rounds: never down, never depooled, never a -d in IPVS.
  for (let i = 0; i < 10; i++) {
    const x = (await s.state(SECTION))!.servers[host(1)];
    t.same([x.up, x.pooled], [true, true], `round ${i}: up and pooled`);
    await sleep(300);
  }
  t.notOk(s.ipvsLines().some((l) => l.startsWith('-d') && l.includes(addr(1))), 'the agent never removed it');
  t.equal(await s.alerts(), 'OK - All pools are healthy', 'no page for a warning');
  const detail = await (await fetch(`${s.daemon.url}/v1/pools/${SECTION}`)).json() as { hosts: { host: string; findings: { code: string }[] }[] };
  t.ok(detail.hosts.find((h) => h.host === host(1))!.findings.some((x) => x.code === 'unclosed'), 'the warning is visible in the API');
});

t.test('a planned depool with --downtime schedules Icinga downtime; pool removes it', async (t) => {
  const icingaConf = join(s.dir, 'poold-icinga.conf');
  const render = await s.poolctl(['monitoring', 'render', '--out', icingaConf, '--poold-url', s.daemon.url]);
  t.equal(render.code, 0, render.stderr);
  const api = await startIcingaApi(readFileSync(icingaConf, 'utf8'));
  t.teardown(() => api.stop());
  const caFile = join(s.dir, 'icinga-ca.crt');
  writeFileSync(caFile, api.config.ca!);
  const icingaEnv = {
    POOLD_ICINGA_API_URL: api.config.url, POOLD_ICINGA_API_USER: api.config.user, POOLD_ICINGA_API_PASSWORD: api.config.password,
    POOLD_ICINGA_API_CA: caFile, POOLD_ICINGA_API_SERVER_NAME: api.config.serverName!,
  };
  const r = await s.poolctl(['depool', host(2), '--downtime', '30m', '--reason', 'deploy parsoid T1'], icingaEnv);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /downtime/i, `no downtime warning: ${r.stderr}`);
  const listed = await api.get('/v1/objects/downtimes') as { body: { results: { attrs: Record<string, unknown> }[] } };
  t.equal(listed.body.results.length, 1, 'one downtime');
  t.match(listed.body.results[0].attrs, { host_name: host(2), service_name: `poold ${SECTION}`, author: 'tester', comment: 'deploy parsoid T1', fixed: true });
  const endTime = listed.body.results[0].attrs.end_time as number;
  t.ok(Math.abs(endTime - (Date.now() / 1000 + 1800)) < 60, 'for 30 minutes');
  await waitFor('wtp1002 out of IPVS', async () => s.table(VIP, PORT), (tb) => !(addr(2) in tb));

  const p = await s.poolctl(['pool', host(2), '--reason', 'deploy done'], icingaEnv);
  t.equal(p.code, 0, p.stderr);
  const after = await api.get('/v1/objects/downtimes') as { body: { results: unknown[] } };
  t.same(after.body.results, [], 'downtime removed when the host is pooled again');
  await waitAllServing(s, SECTION, 4, VIP, PORT);
});

t.test('a rolling restart goes one host at a time, in order, never two out at once', async (t) => {
  await waitAllServing(s, SECTION, 4, VIP, PORT);
  const record = join(s.dir, 'restarts.log');
  const via = join(s.dir, 'fake-ssh.mjs');
  // Stands in for `ssh HOST sudo systemctl restart parsoid`: records the host and time, takes 300 ms.
  writeFileSync(via, `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(record)}, process.argv[2] + ' start ' + Date.now() + '\\n');
await new Promise((r) => setTimeout(r, 300));
appendFileSync(${JSON.stringify(record)}, process.argv[2] + ' end ' + Date.now() + '\\n');\n`);

  // Sample etcd (published state) and the agent's IPVS table every 20 ms while the restart runs.
  let maxOutState = 0;
  let minInTable = 4;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const st = await s.state(SECTION);
      if (st) maxOutState = Math.max(maxOutState, Object.values(st.servers).filter((x) => !x.pooled).length);
      minInTable = Math.min(minInTable, Object.keys(s.table(VIP, PORT)).length);
      await sleep(20);
    }
  })();
  const r = await s.poolctl(['restart', 'parsoid', '--unit', 'parsoid', '--via', `${process.execPath} ${via} {host}`,
    '--yes', '--json', '--reason', 'restart T3', '--health-timeout', '5s', '--state-timeout', '10s'], {}, 80_000);
  sampling = false;
  await sampler;
  t.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { hosts: { host: string; status: string }[] };
  t.same(summary.hosts.map((h) => [h.host, h.status]), HOSTS.map((h) => [h, 'done']));

  t.ok(existsSync(record), 'the restart command ran');
  const events = readFileSync(record, 'utf8').trim().split('\n').map((l) => l.split(' '));
  t.same(events.map(([h, what]) => `${h} ${what}`), HOSTS.flatMap((h) => [`${h} start`, `${h} end`]), 'in order, each finished before the next began');
  t.equal(maxOutState, 1, 'at most one host depooled at any sample of the published state (and one was)');
  t.equal(minInTable, 3, 'at most one host missing from IPVS at any sample (and one was)');

  // Each host was depooled and repooled by the operation, in the audit log, in order.
  const audit = await s.poolctl(['audit', '--limit', '50', '--json']);
  const recs = (JSON.parse(audit.stdout) as { key: string; reason: string; after: { pooled: string } }[])
    .filter((a) => a.reason.includes('restart T3')).reverse();
  t.same(recs.map((a) => `${a.key.split('/').pop()} ${a.after.pooled}`), HOSTS.flatMap((h) => [`${h} no`, `${h} yes`]));
  await waitAllServing(s, SECTION, 4, VIP, PORT);
});
