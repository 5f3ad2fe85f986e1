// poolctl --version matches package.json (the CLI keeps its own copy to avoid reading files at start-up).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runPoolctl } from '../helpers/poolctl.js';

t.test('poolctl --version prints the package version', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await runPoolctl(['--version']);
  t.equal(r.code, 0);
  t.equal(r.stdout.trim(), pkg.version);
});

t.test('drift failures are Nagios UNKNOWN, never CRITICAL', async (t) => {
  const r = await runPoolctl(['drift', '--pybal', '/nonexistent/pybal.conf', '--pools', join(ROOT, 'pools'), '--dc', 'eqiad']);
  t.equal(r.code, 3);
  t.match(r.stdout, /^POOLD UNKNOWN - poolctl drift: .*ENOENT/);
});

t.test('lvs agent durations and --listen none are accepted', async (t) => {
  const r = await runPoolctl(['lvs', 'agent', '--host', 'x', '--period', 'soon', '--listen', 'none']);
  t.equal(r.code, 2);
  t.match(r.stderr, /bad --period 'soon': a duration like 5s/);
});

t.test('lvs render-pybal refuses to mix dcs in one pybal.conf', async (t) => {
  const r = await runPoolctl(['lvs', 'render-pybal', '--pools', join(ROOT, 'pools')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /the pools span dcs codfw, eqiad; a pybal.conf serves one dc: pass --dc codfw/);
});

t.test('usage errors from argument parsing read like every poolctl error', async (t) => {
  const r = await runPoolctl(['select', '-sULi', 'get']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^poolctl: unknown option '-sULi'/, 'prefixed, with the help after it (found by test/fuzz/operator-inputs)');
  const m = await runPoolctl(['depool']);
  t.equal(m.code, 2);
  t.match(m.stderr, /^poolctl: missing required argument 'host'/);
});
