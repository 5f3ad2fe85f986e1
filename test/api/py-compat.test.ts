// CPython 2.7 emulation: hashes, dict order, json.dumps. Expected values come from CPython 2.7.18;
// when that interpreter is on this machine (pyenv), random cases are also checked against it live.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import t from 'tap';
import { PYBAL_SERVER_KEYS, py2DictOrder, py2StrHash, pybalHostOrder, pyJsonDumps, pyObject } from '../../src/api/py-compat.js';

t.test('hash(str) matches CPython 2.7 (64-bit)', async (t) => {
  t.equal(py2StrHash(''), 0n);
  t.equal(py2StrHash('a'), 12416037344n);
  t.equal(py2StrHash('sca1001.eqiad.wmnet'), 9025963810813371603n);
  t.equal(py2StrHash('status'), -5721376809469579840n);
  t.equal(py2StrHash('café'), -8502809815083350713n, 'UTF-8 bytes, as a py2 str');
});

t.test('dict order matches CPython 2.7, across resizes', async (t) => {
  t.same(PYBAL_SERVER_KEYS, ['pooled', 'enabled', 'up', 'weight'], "Server.dumpState's key order");
  t.same(py2DictOrder(['status', 'msg']), ['status', 'msg']);
  const names = Array.from({ length: 12 }, (_, i) => `mw${1000 + i}.eqiad.wmnet`);
  t.same(py2DictOrder(names), [
    'mw1005.eqiad.wmnet', 'mw1007.eqiad.wmnet', 'mw1003.eqiad.wmnet', 'mw1004.eqiad.wmnet',
    'mw1006.eqiad.wmnet', 'mw1010.eqiad.wmnet', 'mw1000.eqiad.wmnet', 'mw1002.eqiad.wmnet',
    'mw1011.eqiad.wmnet', 'mw1008.eqiad.wmnet', 'mw1001.eqiad.wmnet', 'mw1009.eqiad.wmnet',
  ]);
  const five = ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet', 'sca1003.eqiad.wmnet', 'sca1004.eqiad.wmnet', 'sca1005.eqiad.wmnet'];
  t.same(pybalHostOrder([...five].reverse()), [
    'sca1002.eqiad.wmnet', 'sca1003.eqiad.wmnet', 'sca1001.eqiad.wmnet', 'sca1004.eqiad.wmnet', 'sca1005.eqiad.wmnet',
  ], 'independent of the order the hosts are given in');
});

t.test('json.dumps with default separators and ensure_ascii', async (t) => {
  t.equal(pyJsonDumps(pyObject(['h\u00e9"\\\n\t\u0001'], { 'h\u00e9"\\\n\t\u0001': [1, true, null, 'x'] })), '{"h\\u00e9\\"\\\\\\n\\t\\u0001": [1, true, null, "x"]}');
  t.equal(pyJsonDumps([]), '[]');
  t.equal(pyJsonDumps(pyObject([], {})), '{}');
});

// pyenv's shim costs ~0.3 s per start, so all random cases go through one interpreter run.
const PY2_ENV = { ...process.env, PYENV_VERSION: '2.7.18' };
function python2(code: string, input: string): string | null {
  const r = spawnSync('python2', ['-c', code], { env: PY2_ENV, encoding: 'utf8', input });
  return r.status === 0 ? r.stdout : null;
}
const HAVE_PY2 = python2('print 1', '') !== null;

t.test('random host sets: PyBal host order equals CPython 2.7 running the same fills', { skip: HAVE_PY2 ? false : 'no CPython 2.7 on this machine' }, async (t) => {
  // PyBal: config dict filled in etcd key order, then the coordinator's dict filled from it.
  const code = [
    'import sys, json',
    'out = []',
    'for hosts in json.load(sys.stdin):',
    '    c = {}',
    '    for h in sorted(hosts): c[str(h)] = 1',
    '    s = {}',
    '    for h in c: s[h] = 1',
    '    out.append(list(s))',
    'print(json.dumps(out))',
  ].join('\n');
  const hostName = fc
    .tuple(fc.constantFrom('mw', 'sca', 'cp', 'restbase', 'db'), fc.integer({ min: 1000, max: 2999 }), fc.constantFrom('eqiad', 'codfw', 'esams'))
    .map(([p, n, dc]) => `${p}${n}.${dc}.wmnet`);
  const sets = fc.sample(fc.uniqueArray(hostName, { minLength: 1, maxLength: 60 }), { numRuns: 300, seed: 42 });
  const expected = JSON.parse(python2(code, JSON.stringify(sets)) as string) as string[][];
  t.equal(expected.length, sets.length);
  const mismatches = sets.filter((hosts, i) => JSON.stringify(pybalHostOrder(hosts)) !== JSON.stringify(expected[i]));
  t.same(mismatches, [], '300 random pools of 1..60 hosts');
});
