// Fuzz the operator-facing inputs one layer beyond their parsers (whose own fuzz tests are
// test/config/pools-fuzz.test.ts, test/config/pybal-parse.test.ts and test/model/selector.test.ts):
// - pybal.conf: whatever parses goes through import and drift without an untyped error, and an import
//   that reports no problems yields pools/ YAML the loader accepts;
// - pools/*.yaml through `poolctl sync` (a process, real etcd): exit 0, or exit 1 with file:line:col
//   and not one etcd write;
// - selectors through `poolctl select ... --dry-run`: a documented exit code with a message, never
//   a crash, and nothing written.
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePybalConf } from '../../src/config/pybal-parse.js';
import { importPybalConf } from '../../src/config/pybal-import.js';
import { parsePoolsText } from '../../src/config/pools/index.js';
import { detectDrift } from '../../src/monitoring/drift.js';
import { ConfigError, PooldError } from '../../src/model/errors.js';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { cxserver } from '../monitoring/fixtures.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';

const SAMPLE = readFileSync(fileURLToPath(new URL('../../pools/eqiad.yaml', import.meta.url)), 'utf8');

// --- pybal.conf: a valid section whose options are each kept, dropped or given another value ---
const LIST = 'file:///srv/pybal/cxserver';
const LISTS = { [LIST]: { servers: { 'sca1001.eqiad.wmnet': { weight: 10, enabled: true, line: 1 }, 'sca1002.eqiad.wmnet': { weight: 5, enabled: false, line: 2 } } } };
const OPTIONS: [string, string, string[]][] = [
  ['protocol', 'tcp', ['udp', 'tcpx', '']],
  ['ip', '10.2.2.18', ['2620:0:861:ed1a::3', '10.2.2', '::::', '%(port)s']],
  ['port', '8080', ['80', '-1', '70000', '8o']],
  ['scheduler', 'wrr', ['sh', 'wlc', 'fast']],
  ['depool-threshold', '.5', ['0', '1', '2', '-.1', 'half']],
  ['config', LIST, ['http://poold.svc.eqiad.wmnet:9090/pybal/eqiad/sca/cxserver', 'file:///elsewhere', '']],
  ['monitors', '[ "ProxyFetch" ]', ["[ 'IdleConnection', 'ProxyFetch' ]", "[ 'RunCommand' ]", '[]', '[ "Nope" ]', 'ProxyFetch', '[']],
  ['proxyfetch.url', "[ 'http://cxserver.svc.eqiad.wmnet/_info' ]", ["[ 'http://h/', 'http://h/_info' ]", "[ 'ftp://x' ]", '[ 1 ]', "'http://h/'"]],
  ['proxyfetch.timeout', '5', ['0.5', '-3', 'soon']],
  ['runcommand.command', '/usr/lib/nagios/plugins/check_tcp', ['']],
  ['runcommand.arguments', "[ '-H', server.ip, '-p', server.port ]", ['[ server.nope ]', '[']],
];
const optionLine = ([name, good, bad]: [string, string, string[]]) =>
  fc.oneof({ weight: 6, arbitrary: fc.constant(`${name} = ${good}`) }, fc.constant(''), fc.constantFrom(...bad).map((v) => `${name} = ${v}`), fc.string({ maxLength: 6 }).map((v) => `${name} = ${v}`));
const pybalText = fc.tuple(fc.tuple(...OPTIONS.map(optionLine)), fc.oneof({ weight: 4, arbitrary: fc.constant([] as string[]) }, fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 })), fc.constantFrom('cxserver', 'cxserver_8080', 'text'))
  .map(([opts, extra, name]) => `[${name}]\n${[...opts, ...extra].filter((l) => l !== '').join('\n')}\n`);

t.test('pybal.conf: parse, import and drift never fail untyped; a clean import loads', async (t) => {
  let parsed = 0;
  let clean = 0;
  fc.assert(fc.property(pybalText, (text) => {
    let conf;
    try {
      conf = parsePybalConf(text, 'fuzz.conf');
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return;
    }
    parsed++;
    try {
      const r = importPybalConf(conf, { dc: 'eqiad', cluster: 'sca' }, LISTS);
      for (const w of [...r.warnings, ...r.problems]) if (!w.file || !(w.line >= 0) || !w.message) throw new Error(`unlocated problem ${JSON.stringify(w)}`);
      if (r.problems.length === 0) {
        const loaded = parsePoolsText(r.yaml, 'imported.yaml');
        if (loaded.problems.length > 0) throw new Error(`clean import does not load: ${JSON.stringify(loaded.problems)}\n${r.yaml}`);
        clean++;
      }
    } catch (e) {
      if (!(e instanceof PooldError)) throw e;
    }
    const d = detectDrift({ services: [cxserver()], dc: 'eqiad', pybal: { text, file: 'fuzz.conf', serverLists: { [LIST]: LISTS[LIST].servers } } });
    for (const i of d.items) {
      if (typeof i.field !== 'string' || typeof i.service !== 'string') throw new Error(`malformed drift item ${JSON.stringify(i)}`);
    }
  }), { numRuns: 1000 });
  t.ok(parsed > 0 && clean > 0, `${parsed} parsed, ${clean} imported cleanly`);
});

// --- poolctl against a real etcd ---
const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const env = { POOLD_ETCD: etcd.clientUrl };
const revision = async () => (await kv.range({ key: '/', limit: 1 })).revision;
const dir = mkdtempSync(join(tmpdir(), 'poold-fuzz-sync-'));
writeFileSync(join(dir, 'eqiad.yaml'), SAMPLE);
const first = await runPoolctl(['sync', dir], env);
if (first.code !== 0) throw new Error(`sync of the sample failed: ${first.stderr}`);

/** The sample with one line replaced, deleted, duplicated or cut short. */
const LINES = SAMPLE.split('\n');
const mutation = fc.tuple(fc.nat(LINES.length - 1), fc.constantFrom('replace', 'delete', 'dup', 'cut'), fc.constantFrom('  x: [', 'weight: -1', '\t', 'interval: 5 parsecs', 'servers: {}', ': :', 'depool_threshold: 7', '- kind: nope'))
  .map(([i, op, junk]) => {
    const l = [...LINES];
    if (op === 'replace') l[i] = l[i].replace(/\S.*$/, junk);
    if (op === 'delete') l.splice(i, 1);
    if (op === 'dup') l.splice(i, 0, l[i]);
    if (op === 'cut') l[i] = l[i].slice(0, Math.floor(l[i].length / 2));
    return l.join('\n');
  });

t.test('pools/ through poolctl sync: accepted, or refused with file:line:col and nothing written', async (t) => {
  const samples = fc.sample(mutation, 10);
  for (const [i, text] of samples.entries()) {
    writeFileSync(join(dir, 'eqiad.yaml'), text);
    const before = await revision();
    const r = await runPoolctl(['sync', dir], env);
    if (r.code === 0) {
      t.same(parsePoolsText(text, 'eqiad.yaml').problems, [], `mutation ${i}: accepted, and the loader agrees it is valid`);
      continue;
    }
    t.equal(r.code, 1, `mutation ${i}: exit 1 (${r.stderr.split('\n')[0]})`);
    t.match(r.stderr, new RegExp(`${join(dir, 'eqiad.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: `), `mutation ${i}: located`);
    t.equal(await revision(), before, `mutation ${i}: not one write`);
  }
  writeFileSync(join(dir, 'eqiad.yaml'), SAMPLE);
});

const selector = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.tuple(fc.constantFrom('dc', 'cluster', 'service', 'name', 'nope', ''), fc.constantFrom('eqiad', 'sca', '.*', '(', '[a-', 'sca100[1', '*', '', 'cx.*,dc=eqiad', 'a{99999999}', '\\'))
    .map(([k, v]) => `${k}=${v}`),
);

t.test('selectors through poolctl select --dry-run: documented exit codes, a message, nothing written', async (t) => {
  const before = await revision();
  for (const [i, sel] of fc.sample(selector, 10).entries()) {
    const r = await runPoolctl(['select', sel, 'depool', '--dry-run', '--yes'], env);
    t.ok([0, 1, 2, 3].includes(r.code), `selector ${i} ${JSON.stringify(sel)}: exit ${r.code}`);
    // A line of its own: conftool-reading notes (a tag given twice, ...) may come first on stderr.
    if (r.code !== 0) t.match(r.stderr, /^poolctl: \S/m, `selector ${i}: says why`);
    t.notMatch(r.stderr, /at .*\.js:\d+|TypeError|RangeError/, `selector ${i}: no stack trace`);
  }
  t.equal(await revision(), before, 'dry runs wrote nothing');
});
