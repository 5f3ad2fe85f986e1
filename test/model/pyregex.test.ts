// Python regex -> JS translation (src/model/pyregex.ts), checked against the real thing: Python 3's
// `re` (python3, installed by .ci/bootstrap.mjs) compiles each pattern as conftool does,
// re.compile('^' + expr + '$'), and .match()es the same strings. Every pattern Python accepts must
// either match exactly the same strings here, or be refused as untranslatable (never as invalid);
// every pattern Python rejects must be rejected here.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import t from 'tap';
import { compileConftoolRegex, PyRegexError, PyRegexUnsupported } from '../../src/model/pyregex.js';

const PY = `
import sys, json, re, warnings
warnings.simplefilter('ignore')
data = json.load(sys.stdin)
out = []
for p in data['patterns']:
    try:
        r = re.compile(p)
    except (re.error, OverflowError, ValueError, RecursionError) as e:
        out.append({'error': str(e)})
        continue
    out.append({'m': [r.match(s) is not None for s in data['strings']]})
print(json.dumps(out))
`;

function python(patterns: string[], strings: string[]): Array<{ error?: string; m?: boolean[] }> | null {
  const r = spawnSync('python3', ['-c', PY], { input: JSON.stringify({ patterns, strings }), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout) as Array<{ error?: string; m?: boolean[] }>;
}
const HAVE_PY3 = python([], []) !== null;

type Outcome = { kind: 'ok'; m: boolean[] } | { kind: 'unsupported'; message: string } | { kind: 'error'; message: string };

function ours(expr: string, strings: string[]): Outcome {
  try {
    const c = compileConftoolRegex(expr);
    return { kind: 'ok', m: strings.map((s) => c.regex.test(s)) };
  } catch (err) {
    if (err instanceof PyRegexUnsupported) return { kind: 'unsupported', message: err.message };
    if (err instanceof PyRegexError) return { kind: 'error', message: err.message };
    throw err;
  }
}

/** conftool's pattern; flags poolctl accepts at the start go first, where Python 3.11+ accepts them too. */
function conftoolPattern(expr: string): string {
  const m = /^((?:\(\?[aimsux]+\))+)/.exec(expr);
  return m ? `${m[1]}^${expr.slice(m[1].length)}$` : `^${expr}$`;
}

const STRINGS = [
  '', 'a', 'b', 'ab', 'aab', 'ba', 'abc', 'A', 'AB', 'sca1001.eqiad.wmnet', 'sca2001.codfw.wmnet', 'sca1001', 'xsca1001',
  'a\n', 'a\nb', '\n', 'a b', ' ', '1', '12', '\u0663', 'é', 'É', '_', '-', '.', 'a.b', 'a-b', 'mw1001', 'MW1001.eqiad.wmnet',
  'a\u0085', '\u00a0', 'a\r', '\u2028', 'x\x1c', 'aaaa', 'abab', 'k', '\u212a', '{', '}', '{1}', 'a{', ']', '\\', 'aa\n',
];

function compare(exprs: string[]): { bad: string[]; stats: { ok: number; unsupported: number; errors: number } } {
  const patterns = exprs.map(conftoolPattern);
  const py = python(patterns, STRINGS)!;
  const stats = { ok: 0, unsupported: 0, errors: 0 };
  const bad: string[] = [];
  exprs.forEach((expr, i) => {
    const p = py[i];
    const o = ours(expr, STRINGS);
    if (p.error !== undefined) {
      stats.errors++;
      if (o.kind === 'ok') bad.push(`${JSON.stringify(expr)}: Python rejects it (${p.error}), poolctl accepts it`);
      return;
    }
    if (o.kind === 'unsupported') {
      stats.unsupported++;
      return;
    }
    if (o.kind === 'error') {
      bad.push(`${JSON.stringify(expr)}: Python accepts it, poolctl calls it invalid: ${o.message}`);
      return;
    }
    stats.ok++;
    const diff = STRINGS.filter((s, j) => p.m![j] !== o.m[j]);
    if (diff.length) bad.push(`${JSON.stringify(expr)}: matches differ on ${JSON.stringify(diff)} (Python ${JSON.stringify(diff.map((s) => p.m![STRINGS.indexOf(s)]))})`);
  });
  return { bad, stats };
}

const pyOpts = { skip: HAVE_PY3 ? false : 'python3 is not installed (.ci/bootstrap.mjs installs it)' };

t.test('hand-picked patterns agree with Python 3 re', pyOpts, async (t) => {
  const exprs = [
    // conftool's anchoring and alternation
    'a', 'a|b', 'sca1001|sca2001.*', '(sca1001|sca2001.*)', 'a|b|ab', '|a', 'a|', '', 'sca1001', 'sca1001.*', '.*1001.*',
    // Python-only syntax
    '(?P<h>sca1001).*', '(?P<a>a)b(?P=a)', '(a)\\1', '(a)(b)\\2\\1', '(?#comment)a', 'a(?#x)*', '(?i)sca.*', '(?i)a|b', '(?s).*',
    '(?m)a$\\n?', '(?x) a b # comment', '(?x)a\\ b', '(?x)[ ]a', '(?a)\\w+', '(?u)\\w+', '(?s:.)*', '(?m:a$)', '(?x:a b)c', '(?-s:.)',
    // anchors and escapes
    'a\\Z', 'a\\n?\\Z', '\\Aa', 'a$', 'a$\\n', '\\ba', 'a\\b', '\\Ba', '\\B', '\\b', 'a\\B', '\\d+', '\\D', '\\w+', '\\W', '\\s', '\\S',
    '\\x41', '\\101', '\\0', '\\07', '\\u00e9', '\\U000000c9', '\\.', '\\-', '\\ ', '\\{', '\\]', '\\a', '\\e', '\\q', '\\1', '\\8',
    '\\x4', '\\400', '\\777', '\\N{LATIN SMALL LETTER E WITH ACUTE}',
    // classes
    '[ab]+', '[^a]', '[]a]', '[^]a]', '[a-]', '[-a]', '[\\d.]+', '[\\w-]', '[\\d-z]', '[a-\\d]', '[z-a]', '[\\]]', '[\\b]', '[\\s]',
    '[\\S]', '[\\W]', '[\\D]', '[^\\W]', '[\\x41-\\x43]+', '[\\101]', '[\\8]', '[', '[]', '[^]', '[a', '[\\A]',
    // repeats
    'a{2}', 'a{1,2}b', 'a{,2}', 'a{2,}', 'a{,}', 'a{}', 'a{', '{', '}', 'a{x}', 'a{1,2', 'a{2,1}', 'a**', 'a*?', 'a*??', 'a*+',
    'a++', 'a?+', 'a{2}{3}', '*', '+a', '?', '^*', '\\b*', '(?=a)*', '(?:)*', '()+', 'a{4294967295}',
    // groups and lookarounds
    '(a', 'a)', 'a)|(b', '(?:a|b)c', '(?=a)a', '(?!b)a', '.(?<=a)', '.(?<!a)', '..(?<=a|b)', '..(?<=a|bc)', '(?<=a*)', '(?<a>x)',
    '(?P<1>a)', '(?P<>a)', '(?P<a>a)(?P<a>b)', '(?P=a)', '(?P<a>a(?P=a))', '(a\\1)', '(?(1)a|b)', '(a)(?(1)a|b)', '(?>a)',
    '(?i:a)', '(?-i:a)', '(?i)(?-i:a)', '.*(?i)x', '(?L)a', '(?au)a', '(?ai)a', '(?s-s:a)', '(?a-a:x)', '(?-u:x)', '(?x', '(?',
    '(?P', '(?Px)', '(?<x)', '(?z)',
  ];
  const { bad, stats } = compare(exprs);
  t.same(bad, [], `${exprs.length} patterns agree with Python 3 re`);
  t.ok(stats.ok > 90 && stats.errors > 30, `a mix of accepted and rejected patterns: ${JSON.stringify(stats)}`);
});

// Patterns built from Python regex pieces, so most of them are valid and meaningful.
const piece = fc.constantFrom(
  'a', 'b', 's', '1', '0', '.', '-', '_', '\\.', '\\d', '\\w', '\\s', '\\D', '\\W', '\\S', '\\b', '\\B', '\\Z', '\\A', '^', '$',
  '[ab]', '[^a]', '[a-c]', '[\\d.]', '[]a]', '[a-]', '\\x61', '\\141', '\\n', '*', '+', '?', '*?', '{2}', '{1,2}', '{,2}', '{', '}',
  '|', '(', ')', '(?:', '(?P<g>', '(?P=g)', '\\1', '(?=', '(?!', '(?<=', '(?<!', '(?#c)', ' ', '#', '(?s:', '(?m:', '(?x:', '(?a:',
);
const prefix = fc.constantFrom('', '', '', '(?i)', '(?s)', '(?m)', '(?x)', '(?a)', '(?ms)');
const expr = fc.tuple(prefix, fc.array(piece, { maxLength: 10 })).map(([p, xs]) => p + xs.join(''));
const wild = fc.string({ unit: fc.constantFrom(...'ab1.*+?{},()[]|^$\\-:=!<>#PiZdwsbx '.split('')), maxLength: 12 });

t.test('random patterns agree with Python 3 re', pyOpts, async (t) => {
  const exprs = [...fc.sample(expr, { numRuns: 1500, seed: 13 }), ...fc.sample(wild, { numRuns: 1500, seed: 14 })];
  const { bad, stats } = compare(exprs);
  t.same(bad, [], `${exprs.length} patterns agree with Python 3 re`);
  t.ok(stats.ok > 500, `enough accepted patterns to compare matches: ${JSON.stringify(stats)}`);
});

t.test('every refusal explains itself and never claims Python would reject it', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['(?i:a)', /scoped case-insensitivity/],
    ['(?(1)a|b)', /conditional groups/],
    ['\\N{BULLET}', /named characters/],
    ['(?=a)*', /repeated look-ahead/],
    ['(a).(?<=\\1)', /group reference inside a look-behind/],
    ['(?ai)a', /\(\?a\) with \(\?i\)/],
    ['.*(?i)x', /global flags \(\?i\) not at the start/],
    ['a*+', /possessive/],
    ['(?>a)', /atomic/],
  ];
  for (const [e, why] of cases) t.throws(() => compileConftoolRegex(e), why, e);
  for (const [e] of cases) t.throws(() => compileConftoolRegex(e), PyRegexUnsupported, `${e} is a refusal, not a Python error`);
});

t.test('translations: anchoring, Python syntax, flags', async (t) => {
  const c = compileConftoolRegex('sca1001|sca2001.*');
  t.equal(c.python, '^sca1001|sca2001.*$');
  t.same(c.branches, ['^sca1001', 'sca2001.*$']);
  t.ok(c.regex.test('sca1001.eqiad.wmnet'), 'the first alternative is only anchored at the start');
  t.ok(c.regex.test('sca2001.codfw.wmnet'));
  t.notOk(c.regex.test('xsca2001'), 're.match anchors the last alternative at the start too');
  t.same(compileConftoolRegex('(sca1001|sca2001.*)').branches, [], 'a grouped alternation is one branch');
  t.equal(compileConftoolRegex('(?i)SCA.*').globalFlags, 'i');
  t.ok(compileConftoolRegex('(?i)SCA.*').regex.test('sca1001'));
  t.ok(compileConftoolRegex('(?P<h>sca)\\d+(?P=h)').regex.test('sca12sca'));
  t.ok(compileConftoolRegex('sca1001\\n').regex.test('sca1001\n'), "Python's $ matches before a final newline");
  t.ok(compileConftoolRegex('sca1001\\Z').regex.test('sca1001'), '\\Z, then $ at the very end');
  t.notOk(compileConftoolRegex('sca1001\\Z').regex.test('sca1001\n'), '\\Z is the very end, not before a final newline');
  t.throws(() => compileConftoolRegex('a)|(b'), { message: /unbalanced parenthesis at position 1/ });
  t.throws(() => compileConftoolRegex('x\\e'), { message: /bad escape \\e at position 1/ });
});
