// The PyBal server list served for `config = http://...`: one Python dict literal per line.
import t from 'tap';
import { renderServerList } from '../../src/lvs/serverlist.js';
import { LvsInputError } from '../../src/lvs/errors.js';
import type { EffectiveServer, PoolState } from '../../src/model/types.js';

function server(over: Partial<EffectiveServer>): EffectiveServer {
  return { pooledAdmin: 'yes', enabled: true, up: true, pooled: true, weight: 10, reason: 'ok', flapping: false, findings: [], ...over };
}

const state: PoolState = {
  dc: 'eqiad', name: 'cxserver_8080', pool: { cluster: 'sca', service: 'cxserver' }, revision: 7, updatedAt: 0, depoolThreshold: 0.5, pooledDown: [],
  servers: {
    'sca1002.eqiad.wmnet': server({ up: false, pooled: false, reason: 'status 404 (expected 200)' }),
    'sca1001.eqiad.wmnet': server({}),
    'sca1003.eqiad.wmnet': server({ pooledAdmin: 'no', enabled: false, pooled: false, weight: 5 }),
    'sca1004.eqiad.wmnet': server({ pooledAdmin: 'inactive', enabled: false, pooled: false }),
    'sca1005.eqiad.wmnet': server({ weight: 0 }),
  },
};

t.test('one line per host, sorted, enabled = effectively pooled, inactive left out', async (t) => {
  t.equal(renderServerList(state),
    "{ 'host': 'sca1001.eqiad.wmnet', 'weight': 10, 'enabled': True }\n" +
    "{ 'host': 'sca1002.eqiad.wmnet', 'weight': 10, 'enabled': False }\n" +
    "{ 'host': 'sca1003.eqiad.wmnet', 'weight': 5, 'enabled': False }\n" +
    "{ 'host': 'sca1005.eqiad.wmnet', 'weight': 0, 'enabled': True }\n");
});

t.test('host names are valid Python string literals even with quotes', async (t) => {
  const s = { ...state, servers: { "o'brien\\x": server({}) } };
  t.equal(renderServerList(s), "{ 'host': 'o\\'brien\\\\x', 'weight': 10, 'enabled': True }\n");
});

t.test('an empty pool is an empty body; a bad weight is an error naming the host', async (t) => {
  t.equal(renderServerList({ ...state, servers: {} }), '');
  t.throws(() => renderServerList({ ...state, servers: { h1: server({ weight: 1.5 }) } }), LvsInputError);
  t.throws(() => renderServerList({ ...state, servers: { h1: server({ weight: -1 }) } }), /h1: weight -1/);
});

// PyBal reads this list with CPython 2.7: each non-empty, non-# line through ast.literal_eval, then
// host → {enabled, weight}. Run the real interpreter on our output (skipped where there is none).
const PY2_ENV = { ...process.env, PYENV_VERSION: '2.7.18' };
const pyParse = [
  'import ast, json, sys',
  'config = {}',
  'for line in sys.stdin.read().split("\\n"):',
  '    line = line.strip()',
  '    if not line or line.startswith("#"): continue',
  '    server = ast.literal_eval(line)',
  '    host = server.pop("host")',
  '    config[host] = {"enabled": server["enabled"], "weight": server["weight"]}',
  'print(json.dumps(config, sort_keys=True))',
].join('\n');
const { spawnSync } = await import('node:child_process');
const hasPy2 = spawnSync('python2', ['-c', 'print 1'], { env: PY2_ENV }).status === 0;

t.test('CPython 2.7 reads the list back as PyBal does', { skip: hasPy2 ? false : 'no CPython 2.7 here' }, async (t) => {
  const s = { ...state, servers: { ...state.servers, "we'ird\\host": server({ weight: 3 }) } };
  const r = spawnSync('python2', ['-c', pyParse], { env: PY2_ENV, input: renderServerList(s), encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), {
    'sca1001.eqiad.wmnet': { enabled: true, weight: 10 },
    'sca1002.eqiad.wmnet': { enabled: false, weight: 10 },
    'sca1003.eqiad.wmnet': { enabled: false, weight: 5 },
    'sca1005.eqiad.wmnet': { enabled: true, weight: 0 },
    "we'ird\\host": { enabled: true, weight: 3 },
  });
});
