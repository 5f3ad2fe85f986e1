// Issue 14's pools/ settings: correlated_failure_share and start_timeout load into the definition
// (only when set), and bad values are refused with file:line:col.
import t from 'tap';
import { parsePoolsText } from '../../src/config/pools/index.js';
import { problemsOf, FILE, yaml } from './pools-helpers.js';

const svc = (extra: string) => yaml`
dc: eqiad
services:
  foo:
    cluster: c
    lvs: { ip: 10.0.0.1, port: 80 }
${extra}    checks:
      - { kind: tcp }
    servers:
      foo1001: { weight: 1 }
`;

t.test('set: in the definition; unset: absent (the defaults apply at use)', async (t) => {
  const r = parsePoolsText(svc('    correlated_failure_share: 0.7\n    start_timeout: 45s\n'), FILE);
  t.same(r.problems, []);
  const def = r.services.find((s) => s.name === 'foo_80')!;
  t.equal(def.correlatedFailureShare, 0.7);
  t.equal(def.startTimeoutMs, 45_000);
  const plain = parsePoolsText(svc(''), FILE).services.find((s) => s.name === 'foo_80')!;
  t.notOk('correlatedFailureShare' in plain);
  t.notOk('startTimeoutMs' in plain);
});

t.test('bad values are refused with where and why', async (t) => {
  t.match(problemsOf(svc('    correlated_failure_share: 0\n')).join('\n'), /correlated_failure_share must be a number above 0 and at most 1/);
  t.match(problemsOf(svc('    correlated_failure_share: 1.5\n')).join('\n'), /correlated_failure_share/);
  t.match(problemsOf(svc('    start_timeout: soon\n')).join('\n'), /duration/);
});
