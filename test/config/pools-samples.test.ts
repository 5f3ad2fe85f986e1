// The sample pools/ (the demo's input) load cleanly into the expected ServiceDefs, and defaults are applied.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadPools, loadPoolsOrThrow, parsePoolsText } from '../../src/config/pools/index.js';
import type { CommandCheckDef, HttpCheckDef, ServiceDef } from '../../src/model/types.js';
import { yaml } from './pools-helpers.js';

const POOLS = fileURLToPath(new URL('../../pools', import.meta.url));
const SERVICES = ['cxserver', 'parsoid', 'restbase', 'mobileapps', 'eventlogging'];

async function samples(): Promise<Map<string, ServiceDef>> {
  const r = await loadPools(POOLS);
  if (r.problems.length) throw new Error(`sample problems: ${JSON.stringify(r.problems)}`);
  return new Map(r.services.map((s) => [`${s.dc}/${s.catalog}`, s]));
}

t.test('both sample dcs load with zero problems', async (t) => {
  const r = await loadPools(POOLS);
  t.same(r.problems, []);
  t.same(
    r.services.map((s) => `${s.dc}/${s.catalog}`),
    [...SERVICES.map((s) => `codfw/${s}`), ...SERVICES.map((s) => `eqiad/${s}`)],
  );
  t.equal((await loadPoolsOrThrow(POOLS)).length, 10);
});

t.test('eqiad cxserver normalizes exactly (the /_info lesson)', async (t) => {
  const cx = (await samples()).get('eqiad/cxserver');
  t.same(cx, {
    dc: 'eqiad',
    name: 'cxserver_8080',
    catalog: 'cxserver',
    pool: { cluster: 'sca', service: 'cxserver' },
    lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: 0.5,
    checks: [
      {
        kind: 'http',
        name: 'http',
        timeoutMs: 5000,
        intervalMs: 2000,
        rise: 2,
        fall: 2,
        method: 'GET',
        scheme: 'http',
        urls: ['/_info'],
        checkAll: false,
        maxFailures: 0,
        host: 'cxserver.svc.eqiad.wmnet',
        headers: {},
        tls: { verify: true },
        expect: { status: [{ from: 200, to: 200 }], body: { nonEmpty: true, contains: 'cxserver' } },
        unclosed: 'warn',
        unclosedGraceMs: 1000,
        keepAlive: false,
      },
    ],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: { notes: 'https://wikitech.wikimedia.org/wiki/CX' },
    servers: {
      'sca1001.eqiad.wmnet': { weight: 10, address: '127.10.1.1' },
      'sca1002.eqiad.wmnet': { weight: 10, address: '127.10.1.2' },
      'sca1003.eqiad.wmnet': { weight: 10, address: '127.10.1.3' },
    },
  });
});

t.test('the other incident services carry their lessons', async (t) => {
  const s = await samples();
  const parsoid = s.get('eqiad/parsoid')!.checks[0] as HttpCheckDef;
  t.match(parsoid, { urls: ['/'], unclosed: 'warn', unclosedGraceMs: 1000, keepAlive: false, timeoutMs: 5000 });

  const rb = s.get('codfw/restbase')!;
  t.same(rb.checks.map((c) => c.name), ['content', 'health']);
  const content = rb.checks[0] as HttpCheckDef;
  t.equal(content.checkAll, true);
  t.equal(content.urls.length, 2);
  t.same(content.expect, { status: [{ from: 200, to: 299 }], body: { nonEmpty: true } });
  t.same((rb.checks[1] as HttpCheckDef).urls, ['/_info']);
  t.same((rb.checks[1] as HttpCheckDef).expect.body, { json: { path: 'status', equals: 'ok' } });
  t.equal(content.host, 'restbase.svc.codfw.wmnet', 'codfw hosts name codfw');

  const mobile = s.get('eqiad/mobileapps')!.checks[0] as HttpCheckDef;
  t.same(mobile.urls, ['/_info', '/']);
  t.equal(mobile.checkAll, false, 'one URL per round, rotating');

  const el = s.get('eqiad/eventlogging')!;
  const cmd = el.checks[0] as CommandCheckDef;
  t.equal(cmd.kind, 'command');
  t.same(cmd.argv, ['/usr/lib/nagios/plugins/check_tcp', '-H', '{address}', '-p', '{port}', '-t', '3']);
  t.match(cmd, { timeoutMs: 5000, intervalMs: 5000 });
  t.same(el.flapping, { transitions: 4, windowMs: 1_800_000 });
});

t.test('sample addresses: loopback, unique per host and dc, 127.<10|20>.<service>.<n>', async (t) => {
  const s = await samples();
  const seen = new Set<string>();
  for (const [dc, second] of [['eqiad', 10], ['codfw', 20]] as const) {
    SERVICES.forEach((name, i) => {
      const def = s.get(`${dc}/${name}`)!;
      const hosts = Object.entries(def.servers);
      t.ok(hosts.length >= 3 && hosts.length <= 4, `${dc}/${name} has 3-4 servers`);
      hosts.forEach(([host, server], n) => {
        t.equal(server.address, `127.${second}.${i + 1}.${n + 1}`, `${host} address`);
        t.ok(host.endsWith(`.${dc}.wmnet`), `${host} is in ${dc}`);
        t.notOk(seen.has(server.address!), `${server.address} is used once`);
        seen.add(server.address!);
      });
      t.match(def.lvs.ip, dc === 'eqiad' ? /^10\.2\.2\./ : /^10\.2\.1\./);
    });
  }
});

t.test('every sample file names the schema for editors, and that path exists', async (t) => {
  for (const dc of ['eqiad', 'codfw']) {
    const text = await readFile(`${POOLS}/${dc}.yaml`, 'utf8');
    const first = text.split('\n')[0];
    t.equal(first, '# yaml-language-server: $schema=../src/config/pools.schema.json');
    const schema = fileURLToPath(new URL('../src/config/pools.schema.json', `file://${POOLS}/${dc}.yaml`));
    await t.resolves(readFile(schema), `${schema} exists`);
  }
});

t.test('omitted settings get the documented defaults', async (t) => {
  const r = parsePoolsText(
    yaml`
dc: eqiad
services:
  api:
    cluster: api
    lvs: { ip: 10.2.2.22, port: 80 }
    checks:
      - { kind: http, path: /health }
      - { kind: http, urls: [/a, /b] }
      - { kind: tcp }
      - { kind: idle-connection }
      - { kind: command, argv: [/bin/true] }
      - { kind: dns, query: en.wikipedia.org }
    servers:
      mw1001.eqiad.wmnet: { weight: 0 }
`,
    'pools/defaults.yaml',
  );
  t.same(r.problems, []);
  const [api] = r.services;
  t.same(api.lvs, { ip: '10.2.2.22', port: 80, protocol: 'tcp', scheduler: 'wrr', method: 'g' });
  t.equal(api.depoolThreshold, 0.5);
  t.same(api.flapping, { transitions: 6, windowMs: 600_000 });
  t.same(api.monitoring, {});
  t.same(api.servers, { 'mw1001.eqiad.wmnet': { weight: 0 } }, 'no address: resolved later');
  t.same(
    api.checks.map((c) => [c.name, c.timeoutMs, c.intervalMs, c.rise, c.fall]),
    [
      ['http-1', 5000, 10_000, 2, 2],
      ['http-2', 5000, 10_000, 2, 2],
      ['tcp', 5000, 10_000, 2, 2],
      ['idle-connection', 5000, 10_000, 2, 2],
      ['command', 20_000, 60_000, 2, 2],
      ['dns', 5000, 10_000, 2, 2],
    ],
  );
  const http = api.checks[0] as HttpCheckDef;
  t.same(
    { ...http, name: undefined },
    {
      kind: 'http',
      name: undefined,
      timeoutMs: 5000,
      intervalMs: 10_000,
      rise: 2,
      fall: 2,
      method: 'GET',
      scheme: 'http',
      urls: ['/health'],
      checkAll: false,
      maxFailures: 0,
      headers: {},
      tls: { verify: true },
      expect: { status: [{ from: 200, to: 200 }] },
      unclosed: 'warn',
      unclosedGraceMs: 1000,
      keepAlive: false,
    },
  );
  t.notOk('port' in http, 'port left to the LVS port');
  t.match(api.checks[3], { kind: 'idle-connection', reconnectTimeoutMs: 3000 });
  t.match(api.checks[5], { kind: 'dns', type: 'A', query: 'en.wikipedia.org' });
  t.notOk('expect' in api.checks[5]);
});

t.test('explicit settings override every default', async (t) => {
  const r = parsePoolsText(
    yaml`
dc: eqiad
services:
  api-https:
    cluster: api
    lvs: { ip: "2620:0:861:ed1a::1", port: 443, protocol: udp, scheduler: sh, method: i }
    depool_threshold: 0.7
    checks:
      - kind: http
        name: tls
        urls: [/a, "/b?x=1"]
        check_all: true
        max_failures: 1
        method: HEAD
        scheme: https
        port: 8443
        host: api.svc.eqiad.wmnet
        headers: { X-Client-IP: 127.0.0.1 }
        tls: { verify: false, sni: api.wikimedia.org, ca: /etc/ssl/ca.pem }
        expect: { status: [200, "300-399"], body: { regex: "^ok$", contains: ok } }
        timeout: 1m30s
        interval: 250ms
        rise: 3
        fall: 4
        unclosed: fail
        unclosed_grace: 0ms
        keep_alive: true
    flapping: { transitions: 10, window: 1h }
    monitoring: { notes: runbook, contact_groups: [sre] }
    servers:
      mw1001.eqiad.wmnet: { weight: 7, address: "2620:0:861:101::10" }
`,
    'pools/x.yaml',
  );
  t.same(r.problems, []);
  const [s] = r.services;
  t.same(s.lvs, { ip: '2620:0:861:ed1a::1', port: 443, protocol: 'udp', scheduler: 'sh', method: 'i' });
  t.equal(s.depoolThreshold, 0.7);
  t.same(s.flapping, { transitions: 10, windowMs: 3_600_000 });
  t.same(s.monitoring, { notes: 'runbook', contactGroups: ['sre'] });
  t.same(s.checks[0], {
    kind: 'http',
    name: 'tls',
    timeoutMs: 90_000,
    intervalMs: 250,
    rise: 3,
    fall: 4,
    method: 'HEAD',
    scheme: 'https',
    port: 8443,
    urls: ['/a', '/b?x=1'],
    checkAll: true,
    maxFailures: 1,
    host: 'api.svc.eqiad.wmnet',
    headers: { 'X-Client-IP': '127.0.0.1' },
    tls: { verify: false, sni: 'api.wikimedia.org', ca: '/etc/ssl/ca.pem' },
    expect: { status: [{ from: 200, to: 200 }, { from: 300, to: 399 }], body: { regex: '^ok$', contains: 'ok' } },
    unclosed: 'fail',
    unclosedGraceMs: 0,
    keepAlive: true,
  });
});

t.test('YAML anchors and aliases can share a check between services', async (t) => {
  const r = parsePoolsText(
    yaml`
dc: eqiad
services:
  a:
    cluster: sca
    lvs: { ip: 10.2.2.1, port: 80 }
    checks: [&info { kind: http, path: /_info, interval: 3s }]
    servers: { sca1001.eqiad.wmnet: { weight: 1 } }
  b:
    cluster: sca
    lvs: { ip: 10.2.2.2, port: 80 }
    checks: [*info]
    servers: { sca1001.eqiad.wmnet: { weight: 1 } }
`,
    'pools/alias.yaml',
  );
  t.same(r.problems, []);
  t.same(r.services.map((s) => (s.checks[0] as HttpCheckDef).intervalMs), [3000, 3000]);
});
