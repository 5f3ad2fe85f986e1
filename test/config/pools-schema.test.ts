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
} from '../../src/config/pools/index.js';

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
  data.services.cxserver.servers['sca1001.eqiad.wmnet'].weight = -1;
  data.services.cxserver.depool_threshold = 1.5;
  data.services.parsoid.checks[0].urls = ['/a'];
  data.services.restbase.lvs.ip = '10.2.2.300';
  data.services.mobileapps.checks[0].timout = '5s';
  data.services.eventlogging.checks[0].argv = [];
  t.notOk(validate(data));
  const paths = new Set((validate.errors ?? []).map((e) => e.instancePath));
  for (const p of [
    '/services/cxserver/servers/sca1001.eqiad.wmnet/weight',
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
