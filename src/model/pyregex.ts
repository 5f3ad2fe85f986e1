// Python `re` patterns, as conftool compiles them, translated to JavaScript RegExps that match the
// same strings. conftool (3.x, Python 3.7+) builds every selector regex as re.compile('^' + expr +
// '$') and tests a label with .match(), which anchors every alternative at the start. Operators
// paste the same selectors into poolctl, so poolctl must read Python's syntax, not JavaScript's.
//
// pyregex-parse.ts parses Python 3's `re` syntax (str patterns), written from the language
// reference; this file emits an equivalent JS pattern (flag `v`). Python's meaning is kept where the
// two differ:
// `$` also matches before a final newline, `.` excludes only `\n`, `\d \w \s \b` are Unicode-aware
// (ASCII under (?a)), `{,n}` is a repeat, a `{` that starts no repeat is a literal, unknown escapes
// of ASCII letters are errors, group references must name a group already closed. What cannot be
// expressed faithfully in a JS RegExp is refused (PyRegexUnsupported) saying so: conditionals
// (?(1)..), \N{...}, a scoped (?i:...) that changes case sensitivity, (?a) with (?i), repeated
// lookarounds, group references inside a look-behind, global flags anywhere but at the start.
// Python's own errors (unbalanced parenthesis, nothing to repeat, bad escape, ...) are errors too.
// Pure: no I/O.
import { Parser, PyRegexTranslationBug, type Alt, type Cat, type Flags, type Node } from './pyregex-parse.js';

export { PyRegexError, PyRegexUnsupported } from './pyregex-parse.js';

const hex = (cp: number) => `\\u{${cp.toString(16)}}`;
const litJs = (cp: number) => (/^[A-Za-z0-9_]$/.test(String.fromCodePoint(cp)) ? String.fromCodePoint(cp) : hex(cp));
// Python 3's str.isspace(), which \s uses for str patterns.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const ASCII_SPACE = '\\t\\n\\v\\f\\r\\x20';
// Python 3's \w for str patterns: str.isalnum() or '_'.
const PY_WORD = '\\p{L}\\p{N}_';
const ASCII_WORD = 'A-Za-z0-9_';

/** The category as class content (inside [...]); v-mode allows nested classes for negations. */
function catInClass(cat: Cat, ascii: boolean): string {
  switch (cat) {
    case 'd':
      return ascii ? '0-9' : '\\p{Nd}';
    case 'D':
      return ascii ? '[^0-9]' : '\\P{Nd}';
    case 'w':
      return ascii ? ASCII_WORD : PY_WORD;
    case 'W':
      return `[^${ascii ? ASCII_WORD : PY_WORD}]`;
    case 's':
      return ascii ? ASCII_SPACE : PY_SPACE;
    case 'S':
      return `[^${ascii ? ASCII_SPACE : PY_SPACE}]`;
  }
}

function emitAt(n: Extract<Node, { t: 'at' }>): string {
  const w = `[${n.ascii ? ASCII_WORD : PY_WORD}]`;
  switch (n.at) {
    case 'begin':
      return n.multiline ? '(?:^|(?<=\\n))' : '^';
    case 'end':
      // Python's $ also matches before a newline that ends the string (or any newline under (?m)).
      return n.multiline ? '(?=\\n|$)' : '(?=\\n?$)';
    case 'A':
      return '^';
    case 'Z':
      return '$';
    case 'b':
      return `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`;
    case 'B':
      // Python's \B never matches in an empty string.
      return `(?!^$)(?:(?<=${w})(?=${w})|(?<!${w})(?!${w}))`;
  }
}

function emitNode(n: Node): string {
  switch (n.t) {
    case 'lit':
      return litJs(n.cp);
    case 'any':
      return n.dotall ? '[\\s\\S]' : '[^\\n]';
    case 'cat':
      return `[${catInClass(n.cat, n.ascii)}]`;
    case 'class': {
      const items = n.items.map((it) => (it.t === 'lit' ? hex(it.cp) : it.t === 'range' ? `${hex(it.lo)}-${hex(it.hi)}` : catInClass(it.cat, it.ascii)));
      return `[${n.negate ? '^' : ''}${items.join('')}]`;
    }
    case 'at':
      return emitAt(n);
    case 'group':
      return `${n.index === null ? '(?:' : n.name !== undefined ? `(?<${n.name}>` : '('}${emitAlt(n.body)})`;
    case 'look':
      return `(?${n.behind ? '<' : ''}${n.negate ? '!' : '='}${emitAlt(n.body)})`;
    case 'ref':
      // Grouped so a literal digit after it cannot extend the number.
      return `(?:\\${n.index})`;
    case 'repeat': {
      const q = n.min === 0 && n.max === Infinity ? '*' : n.min === 1 && n.max === Infinity ? '+' : n.min === 0 && n.max === 1 ? '?' : n.max === Infinity ? `{${n.min},}` : n.min === n.max ? `{${n.min}}` : `{${n.min},${n.max}}`;
      return `(?:${emitNode(n.item)})${q}${n.lazy ? '?' : ''}`;
    }
  }
}

function emitAlt(alt: Alt): string {
  return alt.branches.map((b) => b.map(emitNode).join('')).join('|');
}

export interface ConftoolRegex {
  /** Tests a label as conftool does: re.compile('^' + expr + '$').match(label). */
  regex: RegExp;
  /** The pattern conftool compiles. */
  python: string;
  /** The top-level alternatives of `python` when there are several (conftool does not group them). */
  branches: string[];
  /** Global flags given at the start of expr, e.g. 'i'. */
  globalFlags: string;
}

/**
 * Compiles `expr` the way conftool does, `re.compile('^%s$' % expr)`, used with `.match()`.
 * Global flags `(?i)`, `(?x)`, ... are accepted at the start of expr only.
 */
export function compileConftoolRegex(expr: string): ConftoolRegex {
  const python = `^${expr}$`;
  const flags: Flags = { i: false, m: false, s: false, x: false, a: false };
  // Leading global flag groups, right after conftool's ^.
  const probe = new Parser(python, flags, 1);
  probe.pos = 1;
  let globalFlags = '';
  while (probe.peek() === '(' && probe.peek(1) === '?' && /^[aiLmsux]$/.test(probe.peek(2) ?? '')) {
    const start = probe.pos;
    probe.pos += 2;
    const letters = probe.flagLetters();
    if (probe.peek() !== ')') {
      probe.pos = start;
      break;
    }
    probe.pos++;
    if (letters.includes('L')) probe.fail("bad inline flags: cannot use 'L' flag with a str pattern", start);
    globalFlags += letters;
  }
  const flagStart = probe.pos;
  for (const f of globalFlags) {
    if (f === 'u') flags.a = false;
    else flags[f as keyof Flags] = true;
  }
  if (globalFlags.includes('a') && globalFlags.includes('u')) probe.fail("bad inline flags: flags 'a', 'u' and 'L' are incompatible", 1);
  if (flags.a && flags.i) probe.refuse('(?a) with (?i) cannot be translated faithfully (ASCII-only case folding)', 1);

  // Parse ^, then (after the flag groups) the rest with the global flags in force.
  const p = new Parser(python, flags, 1);
  p.pos = flagStart;
  const alt = p.parseAlt();
  if (p.pos < p.cps.length) p.fail('unbalanced parenthesis', p.pos);
  // The leading ^ was skipped with the flags: put it back in the first branch.
  alt.branches[0].unshift({ t: 'at', at: 'begin', multiline: flags.m, ascii: flags.a });
  alt.spans[0][0] = 0;
  const source = `^(?:${emitAlt(alt)})`;
  let regex: RegExp;
  try {
    regex = new RegExp(source, `v${flags.i ? 'i' : ''}`);
  } catch (err) {
    // A translation bug, not the operator's: say so rather than pretend the regex is bad.
    throw new PyRegexTranslationBug(`poolctl translated the Python regex ${python} to ${source}, which JavaScript rejects (${(err as Error).message}); please report this`, { python, source });
  }
  const cps = Array.from(python);
  const branches = alt.branches.length > 1 ? alt.spans.map(([a, b]) => cps.slice(a, b).join('')) : [];
  return { regex, python, branches, globalFlags };
}
