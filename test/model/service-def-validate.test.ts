// validateServiceDef: a service definition read back from etcd that poold cannot run must be refused
// with every problem named (the daemon keeps the last good definition and alerts), and a good one
// must come back unchanged (plus the default `monitoring: {}`).
import t from 'tap';
import { validateServiceDef } from '../../src/model/service-def-validate.js';
import { InvalidStoredValueError } from '../../src/model/errors.js';
import { service } from './coordinator-fixtures.js';

const KEY = '/poold/v1/services/eqiad/cxserver';

function good(): Record<string, unknown> {
  return {
    ...service(['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet'], 0.5),
    checks: [
      { kind: 'http', name: 'http', timeoutMs: 1000, intervalMs: 5000, rise: 2, fall: 3, urls: ['http://localhost/'] },
      { kind: 'command', name: 'cmd', timeoutMs: 1000, intervalMs: 5000, rise: 1, fall: 1, argv: ['/bin/true'] },
      { kind: 'tcp', name: 'tcp', timeoutMs: 1000, intervalMs: 5000, rise: 1, fall: 1 },
    ],
  };
}

/** The problems named for `raw`, or null when it is accepted. */
function problems(raw: unknown): string[] | null {
  try {
    validateServiceDef(KEY, raw);
    return null;
  } catch (err) {
    if (!(err instanceof InvalidStoredValueError)) throw err;
    return (err.context.problems as string[] | undefined) ?? [err.message];
  }
}

t.test('a good definition comes back as it was; monitoring defaults to {}', async (t) => {
  const raw = good();
  t.equal(validateServiceDef(KEY, raw), raw, 'with monitoring: the same object');
  const { monitoring: _m, ...without } = raw;
  const out = validateServiceDef(KEY, without);
  t.same(out, { ...without, monitoring: {} });
  // Boundaries that are valid.
  for (const [field, value] of [
    ['depoolThreshold', 0],
    ['depoolThreshold', 1],
  ] as const) {
    t.equal(problems({ ...raw, [field]: value }), null, `${field}=${value}`);
  }
  t.equal(problems({ ...raw, lvs: { ...(raw.lvs as object), port: 65535 } }), null, 'port 65535');
  t.equal(problems({ ...raw, lvs: { ...(raw.lvs as object), port: 1, protocol: 'udp' } }), null, 'port 1, udp');
  t.equal(problems({ ...raw, lvs: { ...(raw.lvs as object), bgpMed: 0 } }), null, 'bgpMed 0');
  t.equal(problems({ ...raw, lvs: { ...(raw.lvs as object), bgpMed: 4294967295 } }), null, 'bgpMed 2^32-1');
  t.equal(problems({ ...raw, servers: { a: { weight: 0 } } }), null, 'weight 0 (drained)');
  t.equal(problems({ ...raw, servers: {}, checks: [] }), null, 'no servers and no checks');
});

t.test('not an object: refused with the key named', async (t) => {
  for (const raw of [null, 'x', 3, [], undefined]) {
    t.throws(() => validateServiceDef(KEY, raw), {
      name: 'InvalidStoredValueError',
      message: `invalid service definition at ${KEY}: not a JSON object`,
      context: { key: KEY },
    }, JSON.stringify(raw) ?? 'undefined');
  }
});

t.test('each bad field is named', async (t) => {
  const raw = good();
  const lvs = raw.lvs as Record<string, unknown>;
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['dc missing', { ...raw, dc: undefined }, 'dc must be a non-empty string'],
    ['name empty', { ...raw, name: '' }, 'name must be a non-empty string'],
    ['catalog a number', { ...raw, catalog: 3 }, 'catalog must be a non-empty string'],
    ['pool missing', { ...raw, pool: undefined }, 'pool must be an object { cluster, service } (definitions written before LVS services named their pool: run poolctl sync again)'],
    ['pool a string', { ...raw, pool: 'sca/cxserver' }, 'pool must be an object { cluster, service } (definitions written before LVS services named their pool: run poolctl sync again)'],
    ['pool.cluster empty', { ...raw, pool: { cluster: '', service: 'x' } }, 'pool.cluster must be a non-empty string'],
    ['pool.service missing', { ...raw, pool: { cluster: 'sca' } }, 'pool.service must be a non-empty string'],
    ['lvs missing', { ...raw, lvs: undefined }, 'lvs must be an object'],
    ['lvs a list', { ...raw, lvs: [] }, 'lvs must be an object'],
    ['lvs.ip a number', { ...raw, lvs: { ...lvs, ip: 10 } }, 'lvs.ip must be a string'],
    ['lvs.port 0', { ...raw, lvs: { ...lvs, port: 0 } }, 'lvs.port must be 1-65535'],
    ['lvs.port 65536', { ...raw, lvs: { ...lvs, port: 65536 } }, 'lvs.port must be 1-65535'],
    ['lvs.port 80.5', { ...raw, lvs: { ...lvs, port: 80.5 } }, 'lvs.port must be 1-65535'],
    ['lvs.port a string', { ...raw, lvs: { ...lvs, port: '80' } }, 'lvs.port must be 1-65535'],
    ['lvs.protocol sctp', { ...raw, lvs: { ...lvs, protocol: 'sctp' } }, 'lvs.protocol must be tcp or udp'],
    ['lvs.scheduler missing', { ...raw, lvs: { ...lvs, scheduler: undefined } }, 'lvs.scheduler must be a string'],
    ['lvs.bgpMed negative', { ...raw, lvs: { ...lvs, bgpMed: -1 } }, 'lvs.bgpMed must be a whole number 0..4294967295'],
    ['lvs.bgpMed above 2^32-1', { ...raw, lvs: { ...lvs, bgpMed: 4294967296 } }, 'lvs.bgpMed must be a whole number 0..4294967295'],
    ['lvs.bgpMed fractional', { ...raw, lvs: { ...lvs, bgpMed: 0.5 } }, 'lvs.bgpMed must be a whole number 0..4294967295'],
    ['lvs.bgpMed a string', { ...raw, lvs: { ...lvs, bgpMed: '10' } }, 'lvs.bgpMed must be a whole number 0..4294967295'],
    ['threshold negative', { ...raw, depoolThreshold: -0.1 }, 'depoolThreshold must be a number in [0, 1]'],
    ['threshold above 1', { ...raw, depoolThreshold: 1.01 }, 'depoolThreshold must be a number in [0, 1]'],
    ['threshold a string', { ...raw, depoolThreshold: '0.5' }, 'depoolThreshold must be a number in [0, 1]'],
    ['checks not a list', { ...raw, checks: {} }, 'checks must be a list'],
    ['flapping missing', { ...raw, flapping: undefined }, 'flapping must be an object'],
    ['flapping null', { ...raw, flapping: null }, 'flapping must be an object'],
    ['servers missing', { ...raw, servers: undefined }, 'servers must be an object'],
    ['servers a list', { ...raw, servers: ['a'] }, 'servers must be an object'],
    ['weight negative', { ...raw, servers: { a: { weight: -1 } } }, 'servers.a.weight must be a whole number >= 0'],
    ['weight fractional', { ...raw, servers: { a: { weight: 1.5 } } }, 'servers.a.weight must be a whole number >= 0'],
    ['weight a string', { ...raw, servers: { a: { weight: '1' } } }, 'servers.a.weight must be a whole number >= 0'],
    ['server null', { ...raw, servers: { a: null } }, 'servers.a.weight must be a whole number >= 0'],
  ];
  for (const [what, bad, expected] of cases) {
    t.same(problems(bad), [expected], what);
  }
});

t.test('each bad check is named by its index', async (t) => {
  const raw = good();
  const http = (raw.checks as Record<string, unknown>[])[0];
  const cmd = (raw.checks as Record<string, unknown>[])[1];
  const cases: Array<[string, unknown, string[]]> = [
    ['not an object', 'http', ['checks[0] must be an object']],
    ['null', null, ['checks[0] must be an object']],
    ['unknown kind', { ...http, kind: 'ftp' }, ['checks[0].kind must be one of http, tcp, idle-connection, command, dns']],
    ['kind missing', { ...http, kind: undefined }, ['checks[0].kind must be one of http, tcp, idle-connection, command, dns']],
    ['name empty', { ...http, name: '' }, ['checks[0].name must be a non-empty string']],
    ['name a number', { ...http, name: 1 }, ['checks[0].name must be a non-empty string']],
    ['timeout 0', { ...http, timeoutMs: 0 }, ['checks[0].timeoutMs must be a whole number > 0']],
    ['interval fractional', { ...http, intervalMs: 1.5 }, ['checks[0].intervalMs must be a whole number > 0']],
    ['rise negative', { ...http, rise: -1 }, ['checks[0].rise must be a whole number > 0']],
    ['fall a string', { ...http, fall: '3' }, ['checks[0].fall must be a whole number > 0']],
    ['http without urls', { ...http, urls: undefined }, ['checks[0].urls must be a non-empty list']],
    ['http with no urls', { ...http, urls: [] }, ['checks[0].urls must be a non-empty list']],
    ['command without argv', { ...cmd, argv: undefined }, ['checks[0].argv must be a non-empty list of strings']],
    ['command with empty argv', { ...cmd, argv: [] }, ['checks[0].argv must be a non-empty list of strings']],
    ['command with a number in argv', { ...cmd, argv: ['/bin/sleep', 1] }, ['checks[0].argv must be a non-empty list of strings']],
  ];
  for (const [what, check, expected] of cases) {
    t.same(problems({ ...raw, checks: [check] }), expected, what);
  }
  // Only http checks need urls, only command checks need argv.
  t.equal(problems({ ...raw, checks: [{ ...cmd, kind: 'dns', argv: undefined }] }), null);
  t.equal(problems({ ...raw, checks: [{ ...http, kind: 'idle-connection', urls: undefined }] }), null);
  // The index is the check's position in the list.
  t.same(problems({ ...raw, checks: [http, { ...http, rise: 0 }] }), ['checks[1].rise must be a whole number > 0']);
});

t.test('every problem is listed, in one error that names the key', async (t) => {
  const raw = { ...good(), dc: '', lvs: undefined, depoolThreshold: 2, checks: [{ kind: 'http' }], servers: { a: { weight: -1 } } };
  let err: unknown;
  try {
    validateServiceDef(KEY, raw);
  } catch (e) {
    err = e;
  }
  t.type(err, InvalidStoredValueError);
  const e = err as InvalidStoredValueError;
  const expected = [
    'dc must be a non-empty string',
    'lvs must be an object',
    'depoolThreshold must be a number in [0, 1]',
    'checks[0].name must be a non-empty string',
    'checks[0].timeoutMs must be a whole number > 0',
    'checks[0].intervalMs must be a whole number > 0',
    'checks[0].rise must be a whole number > 0',
    'checks[0].fall must be a whole number > 0',
    'checks[0].urls must be a non-empty list',
    'servers.a.weight must be a whole number >= 0',
  ];
  t.same(e.context, { key: KEY, problems: expected });
  t.equal(e.message, `invalid service definition at ${KEY}: ${expected.join('; ')}`);
});

t.test('correlatedFailureShare is a number in (0, 1] and startTimeoutMs a whole number >= 0, each boundary named', async (t) => {
  const SHARE = 'correlatedFailureShare must be a number in (0, 1]';
  const START = 'startTimeoutMs must be a whole number >= 0';
  for (const v of [undefined, 1, 0.5, 1e-9]) t.equal(problems({ ...good(), correlatedFailureShare: v }), null, `share ${v} is valid`);
  for (const v of [0, 1.0001, -1, 'x', Number.NaN, '0.5', null]) t.same(problems({ ...good(), correlatedFailureShare: v }), [SHARE], `share ${String(v)}`);
  for (const v of [undefined, 0, 1, 30000]) t.equal(problems({ ...good(), startTimeoutMs: v }), null, `startTimeoutMs ${v} is valid`);
  for (const v of [-1, 1.5, '5', Number.NaN, null]) t.same(problems({ ...good(), startTimeoutMs: v }), [START], `startTimeoutMs ${String(v)}`);
  // Both wrong: both named, in order.
  t.same(problems({ ...good(), correlatedFailureShare: 2, startTimeoutMs: -5 }), [SHARE, START]);
});
