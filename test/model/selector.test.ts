// Selectors read as conftool 3.0.1 reads them (conftool/cli/tool.py parse_selectors and
// kvobject.py query): split at every comma, then at the first '=', each regex compiled as
// re.compile('^%s$' % expr) and tested with .match() on the dc, cluster, service and name labels.
// The table is the issue's finding plus conftool's documented behaviour; every row would pick other
// hosts (or none) if poolctl grouped the regex, searched instead of matched, or read JS syntax.
import t from 'tap';
import fc from 'fast-check';
import { matchHostName, parseSelector, parseSelectorWithNotes, selectorMatches } from '../../src/model/selector.js';
import { UsageError } from '../../src/model/errors.js';
import type { HostKey } from '../../src/model/types.js';

const INVENTORY: HostKey[] = [
  { dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: 'sca1001.eqiad.wmnet' },
  { dc: 'eqiad', cluster: 'sca', service: 'cxserver', host: 'sca1002.eqiad.wmnet' },
  { dc: 'codfw', cluster: 'sca', service: 'cxserver', host: 'sca2001.codfw.wmnet' },
  { dc: 'codfw', cluster: 'sca', service: 'cxserver', host: 'sca2002.codfw.wmnet' },
  { dc: 'eqiad', cluster: 'parsoid', service: 'parsoid', host: 'wtp1001.eqiad.wmnet' },
  { dc: 'eqiad', cluster: 'parsoid', service: 'parsoid', host: 'wtp1002.eqiad.wmnet' },
  { dc: 'eqiad', cluster: 'restbase', service: 'restbase', host: 'restbase1007.eqiad.wmnet' },
  { dc: 'eqiad', cluster: 'restbase', service: 'restbase', host: 'restbase1010.eqiad.wmnet' },
];
const select = (text: string) => {
  const sel = parseSelector(text);
  return INVENTORY.filter((k) => selectorMatches(sel, k)).map((k) => k.host);
};
const SCA_EQIAD = ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet'];
const SCA_CODFW = ['sca2001.codfw.wmnet', 'sca2002.codfw.wmnet'];
const WTP = ['wtp1001.eqiad.wmnet', 'wtp1002.eqiad.wmnet'];
const RB = ['restbase1007.eqiad.wmnet', 'restbase1010.eqiad.wmnet'];

t.test('selector table: the same hosts as conftool', async (t) => {
  const table: Array<[string, string[], string]> = [
    // The issue: ^sca1001|sca2001.*$ is (^sca1001)|(^sca2001.*$): a name starting with sca1001, or sca2001.* in full.
    ['name=sca1001|sca2001.*', ['sca1001.eqiad.wmnet', 'sca2001.codfw.wmnet'], 'top-level alternation is not grouped'],
    ['name=(sca1001|sca2001.*)', ['sca2001.codfw.wmnet'], 'grouped: every alternative in full'],
    ['name=sca200|.*1002.*', ['sca1002.eqiad.wmnet', 'sca2001.codfw.wmnet', 'sca2002.codfw.wmnet', 'wtp1002.eqiad.wmnet'], 'the first alternative is a prefix'],
    ['name=sca1001', [], 'anchored: no substring or prefix match'],
    ['name=sca1001.eqiad.wmnet', ['sca1001.eqiad.wmnet'], 'a full name'],
    ['name=.*1001.*', ['sca1001.eqiad.wmnet', 'wtp1001.eqiad.wmnet'], ''],
    ['dc=eqiad,name=sca100[12].*', SCA_EQIAD, 'tags are ANDed'],
    ['cluster=sca,dc=codfw', SCA_CODFW, 'any tag order'],
    ['dc=eqi', [], 'dc is anchored too'],
    ['service=cx.*|parsoid', [...SCA_EQIAD, ...SCA_CODFW, ...WTP], 'alternation on another tag'],
    ['service=parsoid|cx', WTP, '^parsoid|cx$: cxserver is not cx in full'],
    // Python syntax
    ['name=(?P<h>wtp)100(?P<n>\\d)\\..*', WTP, 'named groups'],
    ['name=(?P<h>sca)(?P=h).*', [], 'a named back-reference'],
    ['name=(?P<x>restbase10)(07|10)\\.eqiad\\.wmnet', RB, ''],
    ['name=(?i)SCA1.*', SCA_EQIAD, '(?i) at the start: case-insensitive'],
    ['name=SCA1.*', [], 'otherwise case-sensitive'],
    ['name=(?x) wtp 100 [12] \\. .*', WTP, 'verbose'],
    ['name=.*\\Z', INVENTORY.map((k) => k.host), '\\Z is the end, as $'],
    ['name=restbase10\\d{2}\\.eqiad\\.wmnet', RB, '\\d and {n}'],
    ['name=restbase10(?!07).*', ['restbase1010.eqiad.wmnet'], 'look-ahead'],
    // conftool's dict of selectors: a tag given twice keeps the last.
    ['dc=eqiad,dc=codfw', SCA_CODFW, 'the last dc= wins'],
    // No match: nothing selected.
    ['name=nope.*', [], 'no match'],
    ['name=', [], 'an empty regex matches only an empty name'],
    ['dc=eqiad,cluster=sca,service=parsoid', [], 'no host has all three'],
  ];
  for (const [text, hosts, why] of table) t.same(select(text), hosts, `${text}${why ? ` (${why})` : ''}`);
});

t.test('notes say where conftool reads a selector surprisingly', async (t) => {
  t.same(parseSelectorWithNotes('name=sca1001|sca2001.*').notes, [
    "note: conftool anchors name=sca1001|sca2001.* as ^sca1001|sca2001.*$ (no group), and re.match anchors every alternative at the start: " +
      "that is (^sca1001)|(^sca2001.*$), a name starting with 'sca1001', or 'sca2001.*' in full; write name=(sca1001|sca2001.*) to match every alternative in full",
  ]);
  t.match(parseSelectorWithNotes('name=a|b|c').notes[0], /that is \(\^a\)\|\(\^b\)\|\(\^c\$\), a name starting with 'a' or 'b', or 'c' in full/);
  t.same(parseSelectorWithNotes('dc=eqiad,name=(a|b)').notes, [], 'a grouped alternation needs no note');
  t.same(parseSelectorWithNotes('dc=eqiad,dc=codfw').notes, ['note: tag dc is given twice; conftool keeps the last, dc=codfw (dc=eqiad is ignored)']);
  t.match(parseSelectorWithNotes('name=(?i)x').notes[0], /conftool compiles \^\(\?i\)x\$, flags after \^; Python 3\.7-3\.10 apply them to the whole regex/);
  t.same(parseSelectorWithNotes('name=a|b,name=c').notes, ['note: tag name is given twice; conftool keeps the last, name=c (name=a|b is ignored)'], 'notes about an ignored regex go');
});

t.test('bad selectors are usage errors naming the problem', async (t) => {
  t.throws(() => parseSelector(''), UsageError);
  t.throws(() => parseSelector('host=foo'), { message: /unknown selector tag 'host'/ });
  t.throws(() => parseSelector('dc=eqiad, name=x'), { message: /unknown selector tag ' name'.*exactly, no spaces/ }, 'conftool does not strip spaces');
  t.throws(() => parseSelector('name=('), { message: /bad regex for 'name'.*missing \), unterminated subpattern at position 0.*conftool compiles \^\(\$/ });
  t.throws(() => parseSelector('name=a)|(b'), { message: /unbalanced parenthesis/ }, 'no wrapping group hides a stray parenthesis');
  t.throws(() => parseSelector('eqiad'), { message: /expected tag=regex$/ });
  // conftool splits at every comma: a {m,n} repeat breaks the selector in conftool too.
  t.throws(() => parseSelector('name=sca10{2,3}1'), { message: /bad selector part '3}1'.*splits a selector at every comma/ });
  t.throws(() => parseSelector('name=(?i:sca).*'), { message: /scoped case-insensitivity/ });
  t.throws(() => parseSelector('name=x\\e'), { message: /bad escape \\e/ });
});

const regexish = fc.string({ unit: fc.constantFrom(...'()[]{}|*+?.\\^$P<>=i:#-1a'.split('')), maxLength: 14 });
const part = fc.tuple(fc.constantFrom('name', 'dc', 'cluster', 'service', 'host', ' name', ''), regexish).map(([tag, re]) => `${tag}=${re}`);
const selectorish = fc.array(part, { minLength: 1, maxLength: 3 }).map((ps) => ps.join(','));

t.test('fuzz: parseSelector either parses or throws UsageError', async (t) => {
  let parsed = 0;
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 40 }), selectorish), (s) => {
      try {
        parseSelector(s);
        parsed++;
      } catch (err) {
        // A PyRegexTranslationBug (not a UsageError) fails here.
        if (!(err instanceof UsageError)) throw err;
      }
    }),
    { numRuns: 3000 },
  );
  t.ok(parsed > 50, `some random selectors parse (${parsed})`);
});

t.test('short host names match the first label when unambiguous', async (t) => {
  const hosts = ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet', 'sca2001.codfw.wmnet', 'mw1.eqiad.wmnet', 'mw1.codfw.wmnet'];
  t.same(matchHostName('sca1001', hosts), { kind: 'found', hosts: ['sca1001.eqiad.wmnet'] });
  t.same(matchHostName('sca1001.eqiad.wmnet', hosts), { kind: 'found', hosts: ['sca1001.eqiad.wmnet'] });
  t.same(matchHostName('mw1', hosts), { kind: 'ambiguous', candidates: ['mw1.codfw.wmnet', 'mw1.eqiad.wmnet'] });
  t.same(matchHostName('sca9', hosts), { kind: 'none' });
  t.same(matchHostName('sca1001.codfw.wmnet', hosts), { kind: 'none' });
});
