// The schema file stands on its own: plain ajv (no loader code) accepts the samples and rejects bad files,
// and its descriptions state the same defaults the loader applies.
import { isIPv4, isIPv6 } from 'node:net';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import t from 'tap';
import { parse } from 'yaml';
import { formatDuration } from '../../src/model/duration.js';
import {
  CHECK_DEFAULTS,
  CHECK_TIMING_DEFAULTS,
  HTTP_DEFAULTS,
  IDLE_CONNECTION_DEFAULTS,
  SERVICE_DEFAULTS,
  loadPoolsFromTexts,
} from '../../src/config/pools/index.js';
import { formatProblem } from '../../src/model/errors.js';

const SCHEMA_PATH = fileURLToPath(new URL('../../src/config/pools.schema.json', import.meta.url));
const POOLS = fileURLToPath(new URL('../../pools', import.meta.url));

async function editorLikeValidator() {
  const schema = JSON.parse(await readFile(SCHEMA_PATH, 'utf8'));
  // What an editor does: draft-07, unknown annotation keywords ignored, standard formats.
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('ipv4', isIPv4);
  ajv.addFormat('ipv6', isIPv6);
  t.ok(ajv.validateSchema(schema), 'a valid draft-07 schema');
  return { schema, validate: ajv.compile(schema) };
}

t.test('plain ajv validates the sample files', async (t) => {
  const { validate } = await editorLikeValidator();
  for (const dc of ['eqiad', 'codfw']) {
    const data = parse(await readFile(`${POOLS}/${dc}.yaml`, 'utf8'));
    t.ok(validate(data), `${dc}.yaml: ${JSON.stringify(validate.errors)}`);
  }
});

t.test('plain ajv rejects what the loader rejects by schema', async (t) => {
  const { validate } = await editorLikeValidator();
  const data = parse(await readFile(`${POOLS}/eqiad.yaml`, 'utf8'));
  // eqiad.yaml is in the newer form: the servers live in the conftool pool the service names.
  data.pools['sca/cxserver'].servers['sca1001.eqiad.wmnet'].weight = -1;
  data.services.cxserver.depool_threshold = 1.5;
  data.services.parsoid.checks[0].urls = ['/a'];
  data.services.restbase.lvs.ip = '10.2.2.300';
  data.services.mobileapps.checks[0].timout = '5s';
  data.services.eventlogging.checks[0].argv = [];
  t.notOk(validate(data));
  const paths = new Set((validate.errors ?? []).map((e) => e.instancePath));
  for (const p of [
    '/pools/sca~1cxserver/servers/sca1001.eqiad.wmnet/weight',
    '/services/cxserver/depool_threshold',
    '/services/parsoid/checks/0/urls',
    '/services/restbase/lvs/ip',
    '/services/mobileapps/checks/0',
    '/services/eventlogging/checks/0/argv',
  ]) {
    t.ok(paths.has(p), `error at ${p}`);
  }
});

function at(schema: Record<string, unknown>, pointer: string): Record<string, unknown> {
  let node: unknown = schema;
  for (const seg of pointer.split('/').filter(Boolean)) node = (node as Record<string, unknown>)[seg];
  if (node === undefined) throw new Error(`no ${pointer} in schema`);
  return node as Record<string, unknown>;
}

t.test('schema descriptions document the defaults the loader applies', async (t) => {
  const { schema } = await editorLikeValidator();
  const d = '/definitions';
  const cases: Array<[string, string]> = [
    [`${d}/service/properties/depool_threshold`, `Default ${SERVICE_DEFAULTS.depoolThreshold}`],
    [`${d}/lvs/properties/protocol`, `Default ${SERVICE_DEFAULTS.protocol}`],
    [`${d}/lvs/properties/scheduler`, `Default ${SERVICE_DEFAULTS.scheduler}`],
    [`${d}/lvs/properties/method`, `Default ${SERVICE_DEFAULTS.method}`],
    [`${d}/service/properties/flapping`, `transitions: ${SERVICE_DEFAULTS.flapping.transitions}`],
    [`${d}/service/properties/flapping`, `window: ${formatDuration(SERVICE_DEFAULTS.flapping.windowMs)}`],
    [`${d}/checkRise`, `Default ${CHECK_DEFAULTS.rise}`],
    [`${d}/checkFall`, `Default ${CHECK_DEFAULTS.fall}`],
    [`${d}/httpCheck/properties/method`, `Default ${HTTP_DEFAULTS.method}`],
    [`${d}/httpCheck/properties/scheme`, `Default ${HTTP_DEFAULTS.scheme}`],
    [`${d}/httpCheck/properties/check_all`, `Default ${HTTP_DEFAULTS.checkAll}`],
    [`${d}/httpCheck/properties/max_failures`, `Default ${HTTP_DEFAULTS.maxFailures}`],
    [`${d}/httpCheck/properties/unclosed`, `Default ${HTTP_DEFAULTS.unclosed}`],
    [`${d}/httpCheck/properties/unclosed_grace`, `Default ${formatDuration(HTTP_DEFAULTS.unclosedGraceMs)}`],
    [`${d}/httpCheck/properties/keep_alive`, `Default ${HTTP_DEFAULTS.keepAlive}`],
    [`${d}/httpCheck/properties/tls/properties/verify`, `Default ${HTTP_DEFAULTS.tlsVerify}`],
    [`${d}/httpCheck/properties/expect/properties/status`, `Default [${HTTP_DEFAULTS.status[0].from}]`],
    [`${d}/idleConnectionCheck/properties/reconnect_timeout`, `Default ${formatDuration(IDLE_CONNECTION_DEFAULTS.reconnectTimeoutMs)}`],
  ];
  const kinds: Array<[string, keyof typeof CHECK_TIMING_DEFAULTS]> = [
    ['httpCheck', 'http'],
    ['tcpCheck', 'tcp'],
    ['idleConnectionCheck', 'idle-connection'],
    ['commandCheck', 'command'],
    ['dnsCheck', 'dns'],
  ];
  for (const [def, kind] of kinds) {
    cases.push([`${d}/${def}/properties/timeout`, `Default ${formatDuration(CHECK_TIMING_DEFAULTS[kind].timeoutMs)}`]);
    cases.push([`${d}/${def}/properties/interval`, `Default ${formatDuration(CHECK_TIMING_DEFAULTS[kind].intervalMs)}`]);
  }
  for (const [pointer, text] of cases) {
    const description = String(at(schema, pointer).description ?? '');
    t.ok(description.includes(text), `${pointer} says "${text}" (has: ${description})`);
  }
});

// ---- the newer form: pools: and services naming a pool ----

/** A pools file in the newer form; `pools` is the text under `pools:`, `pool` the service's pool value. */
const pooled = (pools: string, pool: string) => `dc: eqiad
pools:
${pools}
services:
  cxserver:
    pool: ${pool}
    lvs: { ip: 10.2.2.18, port: 8080 }
    checks: [{ kind: tcp }]
`;
const ONE_POOL = '  sca/cxserver:\n    servers:\n      sca1001.eqiad.wmnet: { weight: 10 }';

function loaderProblems(text: string): string[] {
  return loadPoolsFromTexts([{ file: 'pools/x.yaml', text }]).problems.map(formatProblem);
}

t.test('plain ajv checks the shape of pools: and pool:', async (t) => {
  const { validate } = await editorLikeValidator();
  t.ok(validate(parse(pooled(ONE_POOL, 'sca/cxserver'))), JSON.stringify(validate.errors));
  const bad: Array<[string, string, string]> = [
    [ONE_POOL, 'sca', '/services/cxserver/pool'],
    [ONE_POOL, 'sca/cx/server', '/services/cxserver/pool'],
    [ONE_POOL, '3', '/services/cxserver/pool'],
    ['  sca/cxserver: {}', 'sca/cxserver', '/pools/sca~1cxserver'],
    [`${ONE_POOL}\n    weight: 3`, 'sca/cxserver', '/pools/sca~1cxserver'],
    ['  sca/cxserver:\n    servers: {}', 'sca/cxserver', '/pools/sca~1cxserver/servers'],
  ];
  for (const [pools, pool, path] of bad) {
    t.notOk(validate(parse(pooled(pools, pool))), `pool: ${pool} with ${JSON.stringify(pools)} is rejected`);
    t.ok((validate.errors ?? []).some((e) => e.instancePath === path), `error at ${path}: ${JSON.stringify(validate.errors)}`);
  }
  // A pools: key that is not <cluster>/<service> fails propertyNames (ajv reports it at /pools).
  t.notOk(validate(parse(pooled(ONE_POOL.replace('sca/cxserver', 'sca'), 'sca/cxserver'))));
  t.ok((validate.errors ?? []).some((e) => e.instancePath === '/pools' && e.keyword === 'propertyNames'), JSON.stringify(validate.errors));
});

t.test('the loader reports the same shapes at file:line:col', async (t) => {
  const named = 'a pool is named <cluster>/<service>, such as kubernetes/kubesvc (the conftool key below <dc>)';
  t.same(loaderProblems(pooled(ONE_POOL, 'sca')), [`pools/x.yaml:8:11: pool: ${named} (got "sca")`]);
  t.same(loaderProblems(pooled(ONE_POOL, 'sca/cx/server')), [`pools/x.yaml:8:11: pool: ${named} (got "sca/cx/server")`]);
  // A non-string pool is reported, not a crash (the loader used to split it before checking its type).
  t.same(loaderProblems(pooled(ONE_POOL, '3')), [`pools/x.yaml:8:11: pool: ${named} (got 3)`]);
  t.same(loaderProblems(pooled(ONE_POOL.replace('sca/cxserver', 'sca'), 'sca/cxserver')), [
    `pools/x.yaml:3:3: invalid key "sca": ${named}`,
    'pools/x.yaml:8:11: pool sca/cxserver is not defined under pools: of dc eqiad',
  ]);
  t.same(loaderProblems(pooled('  sca/cxserver: {}', 'sca/cxserver')), ['pools/x.yaml:3:3: missing required key "servers" in sca/cxserver']);
  t.same(loaderProblems(pooled(`${ONE_POOL}\n    weight: 3`, 'sca/cxserver')), ['pools/x.yaml:6:5: unknown key "weight"; it belongs under servers.<host>']);
});

t.test('rules beyond the schema: the loader rejects them at file:line:col', async (t) => {
  // neither pool nor cluster + servers
  t.same(loaderProblems(pooled(ONE_POOL, 'sca/cxserver').replace('    pool: sca/cxserver\n', '')), [
    'pools/x.yaml:7:3: a service needs pool: <cluster>/<service> (an entry of pools:), or cluster and servers',
  ]);
  // pool: naming an undefined pool
  t.same(loaderProblems(pooled(ONE_POOL, 'sca/citoid')), ['pools/x.yaml:8:11: pool sca/citoid is not defined under pools: of dc eqiad']);
  // pool and servers both given
  t.same(loaderProblems(pooled(ONE_POOL, 'sca/cxserver') + '    servers: { sca1002.eqiad.wmnet: { weight: 10 } }\n'), [
    'pools/x.yaml:11:5: servers belongs under pools: when the service names a pool; remove it here',
  ]);
  // a pool defined twice (two files of one dc)
  const second = pooled(ONE_POOL.replace('sca1001', 'sca1002'), 'sca/cxserver').replace('cxserver:\n    pool', 'citoid:\n    pool');
  const twice = loadPoolsFromTexts([
    { file: 'pools/a.yaml', text: pooled(ONE_POOL, 'sca/cxserver') },
    { file: 'pools/b.yaml', text: second },
  ]);
  t.same(twice.problems.map(formatProblem), ['pools/b.yaml:3:3: pool eqiad/sca/cxserver is already defined at pools/a.yaml:3:3']);
  // a host in two dcs
  const codfw = pooled(ONE_POOL, 'sca/cxserver').replace('dc: eqiad', 'dc: codfw');
  const hosts = loadPoolsFromTexts([
    { file: 'pools/codfw.yaml', text: codfw },
    { file: 'pools/eqiad.yaml', text: pooled(ONE_POOL, 'sca/cxserver') },
  ]);
  t.same(hosts.problems.map(formatProblem), [
    'pools/eqiad.yaml:5:7: host sca1001.eqiad.wmnet is already a server in dc codfw (pools/codfw.yaml:5:7); a host lives in one dc',
  ]);
  t.same(hosts.services.map((s) => `${s.dc}/${s.name}`), ['codfw/cxserver_8080']);
});
