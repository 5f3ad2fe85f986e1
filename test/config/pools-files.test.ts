// Loading sets of files: cross-file rules, directories, unreadable inputs, and the throwing variant.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadPools, loadPoolsFromTexts, loadPoolsOrThrow } from '../../src/config/pools/index.js';
import { ConfigError, formatProblem } from '../../src/model/errors.js';
import { yaml } from './pools-helpers.js';

const svc = (dc: string, service: string, host: string, ip = '10.2.2.18') => yaml`
dc: ${dc}
services:
  ${service}:
    cluster: sca
    lvs: { ip: ${ip}, port: 8080 }
    checks: [{ kind: tcp }]
    servers:
      ${host}: { weight: 10 }
`;

t.test('the same dc/service in two files is rejected at the second definition', async (t) => {
  const r = loadPoolsFromTexts([
    { file: 'pools/a.yaml', text: svc('eqiad', 'cxserver', 'sca1001.eqiad.wmnet') },
    { file: 'pools/b.yaml', text: svc('eqiad', 'cxserver', 'sca1002.eqiad.wmnet') },
  ]);
  // The older form defines both a conftool pool (sca/cxserver) and an LVS service (cxserver_8080): both are duplicates.
  t.same(r.problems.map(formatProblem), [
    'pools/b.yaml:3:3: pool eqiad/sca/cxserver is already defined at pools/a.yaml:3:3',
    'pools/b.yaml:3:3: LVS service eqiad/cxserver_8080 (PyBal section cxserver_8080) is already defined at pools/a.yaml:3:3',
  ]);
  t.same(
    r.services.map((s) => Object.keys(s.servers)),
    [['sca1001.eqiad.wmnet']],
    'the first definition is kept',
  );
});

t.test('one service name in two dcs is fine; the same host in both is not', async (t) => {
  const ok = loadPoolsFromTexts([
    { file: 'pools/eqiad.yaml', text: svc('eqiad', 'cxserver', 'sca1001.eqiad.wmnet') },
    { file: 'pools/codfw.yaml', text: svc('codfw', 'cxserver', 'sca2001.codfw.wmnet', '10.2.1.18') },
  ]);
  t.same(ok.problems, []);
  t.same(ok.services.map((s) => `${s.dc}/${s.catalog}`), ['eqiad/cxserver', 'codfw/cxserver']);

  const dup = loadPoolsFromTexts([
    { file: 'pools/eqiad.yaml', text: svc('eqiad', 'cxserver', 'sca1001.eqiad.wmnet') },
    { file: 'pools/codfw.yaml', text: svc('codfw', 'cxserver', 'sca1001.eqiad.wmnet', '10.2.1.18') },
  ]);
  t.same(dup.problems.map(formatProblem), [
    'pools/codfw.yaml:8:7: host sca1001.eqiad.wmnet is already a server in dc eqiad (pools/eqiad.yaml:8:7); a host lives in one dc',
  ]);
  t.same(dup.services.map((s) => s.dc), ['eqiad']);
});

t.test('one host may serve several services', async (t) => {
  const r = loadPoolsFromTexts([
    { file: 'pools/a.yaml', text: svc('eqiad', 'cxserver', 'sca1001.eqiad.wmnet') },
    { file: 'pools/b.yaml', text: svc('eqiad', 'citoid', 'sca1001.eqiad.wmnet', '10.2.2.19') },
  ]);
  t.same(r.problems, []);
  t.equal(r.services.length, 2);
});

t.test('problems are ordered by file, then position, across files', async (t) => {
  const r = loadPoolsFromTexts([
    { file: 'pools/b.yaml', text: 'dc: eqiad\nservices: 3\n' },
    { file: 'pools/a.yaml', text: 'dc: "a/b"\n' },
  ]);
  t.same(r.problems.map(formatProblem), [
    'pools/a.yaml:1:1: missing required key "services"',
    `pools/a.yaml:1:5: dc: a name must be a string of letters, digits, '.', '_' or '-' (it becomes part of an etcd key) (got "a/b")`,
    'pools/b.yaml:2:11: services must be a map of service name to service definition, with at least one service (got 3)',
  ]);
});

t.test('directories and file lists on disk', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poold-pools-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'eqiad.yaml'), svc('eqiad', 'cxserver', 'sca1001.eqiad.wmnet'));
  await writeFile(join(dir, 'codfw.yml'), svc('codfw', 'cxserver', 'sca2001.codfw.wmnet', '10.2.1.18'));
  await writeFile(join(dir, 'README.md'), 'not a pools file: ignored');
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'x.yaml'), 'ignored: not recursive');

  const r = await loadPools(dir);
  t.same(r.problems, []);
  t.same(r.services.map((s) => s.dc), ['codfw', 'eqiad'], 'files load in name order');
  t.same((await loadPoolsOrThrow([join(dir, 'eqiad.yaml')])).map((s) => s.dc), ['eqiad']);

  const missing = join(dir, 'nope.yaml');
  const bad = await loadPools([join(dir, 'eqiad.yaml'), missing]);
  t.equal(bad.problems.length, 1);
  t.equal(bad.problems[0].file, missing);
  t.match(bad.problems[0].message, /^cannot read file: ENOENT/);
  t.same(bad.services.map((s) => s.dc), ['eqiad'], 'readable files still load');

  const empty = await mkdtemp(join(tmpdir(), 'poold-pools-empty-'));
  t.teardown(() => rm(empty, { recursive: true, force: true }));
  // An empty directory must not look like "every pool was removed".
  t.same((await loadPools(empty)).problems.map(formatProblem), [`${empty}:1:1: no *.yaml pools files in this directory`]);
  const gone = (await loadPools(join(dir, 'missing-dir'))).problems;
  t.equal(gone.length, 1);
  t.match(gone[0].message, /^cannot read directory: ENOENT/);
});

t.test('loadPoolsOrThrow throws a ConfigError carrying every problem', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poold-pools-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'eqiad.yaml');
  await writeFile(file, svc('eqiad', 'cxserver', 'sca1001.eqiad.wmnet').replace('weight: 10', 'weight: -1').replace('port: 8080', 'port: 0'));
  const err = await loadPoolsOrThrow(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof ConfigError, 'a ConfigError');
  const ce = err as ConfigError;
  t.same(
    ce.problems.map((p) => `${p.line}:${p.col}`),
    ['5:33', '8:38'],
  );
  t.equal(
    ce.message,
    [
      `${file}:5:33: port: a port must be an integer from 1 to 65535 (got 0)`,
      `${file}:8:38: weight must be a whole number from 0 to 65535 (got -1)`,
    ].join('\n'),
  );
});
