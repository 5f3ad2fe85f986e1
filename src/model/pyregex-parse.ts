// Python `re` syntax (str patterns, Python 3.7+) parsed into a small tree, with Python's own
// errors (PyRegexError) and refusals of what a JS RegExp cannot reproduce (PyRegexUnsupported).
// Emission to JavaScript is in pyregex.ts. Pure: no I/O.
import { PooldError, UsageError } from './errors.js';

/** A pattern Python would reject, or one poolctl cannot translate faithfully. `pos` counts code points. */
export class PyRegexError extends UsageError {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message, { pos });
  }
}

/** A pattern Python accepts but poolctl refuses, because no JS RegExp matches exactly the same. */
export class PyRegexUnsupported extends PyRegexError {}

/** The translation produced a RegExp JavaScript rejects: poolctl's bug, never the operator's. */
export class PyRegexTranslationBug extends PooldError {}

export type Cat = 'd' | 'D' | 'w' | 'W' | 's' | 'S';
export type ClassItem = { t: 'lit'; cp: number } | { t: 'range'; lo: number; hi: number } | { t: 'cat'; cat: Cat; ascii: boolean };
export type Node =
  | { t: 'lit'; cp: number }
  | { t: 'any'; dotall: boolean }
  | { t: 'class'; negate: boolean; items: ClassItem[] }
  | { t: 'cat'; cat: Cat; ascii: boolean }
  | { t: 'at'; at: 'begin' | 'end' | 'A' | 'Z' | 'b' | 'B'; multiline: boolean; ascii: boolean }
  | { t: 'group'; index: number | null; name?: string; body: Alt }
  | { t: 'look'; behind: boolean; negate: boolean; body: Alt }
  | { t: 'ref'; index: number }
  | { t: 'repeat'; min: number; max: number; lazy: boolean; item: Node };
export interface Alt {
  branches: Node[][];
  /** Source spans [from, to) of each branch, in code points of the whole pattern. */
  spans: Array<[number, number]>;
}

export interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  a: boolean;
}

// Python's sre MAXREPEAT on 64-bit builds: a repeat count must stay below it.
const MAXREPEAT = 4294967295;
const DIGITS = /^[0-9]$/;
const OCT = /^[0-7]$/;
const HEX = /^[0-9A-Fa-f]$/;
const ASCII_LETTER = /^[A-Za-z]$/;
const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\v', '\f']);
const SIMPLE_ESCAPES: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
const CATS = new Set(['d', 'D', 'w', 'W', 's', 'S']);

export class Parser {
  readonly cps: string[];
  pos = 0;
  flags: Flags;
  /** Groups opened so far (Python numbers them from 1 in order of their opening parenthesis). */
  groups = 0;
  readonly names = new Map<string, number>();
  readonly open = new Set<number>();
  lookbehindDepth = 0;

  constructor(
    pattern: string,
    flags: Flags,
    /** Where the user's text starts in `pattern` (errors are reported relative to it). */
    readonly offset: number,
  ) {
    this.cps = Array.from(pattern);
    this.flags = { ...flags };
  }

  fail(message: string, at = this.pos): never {
    const where = Math.max(0, at - this.offset);
    throw new PyRegexError(`${message} at position ${where}`, where);
  }

  /** Python accepts this; a JS RegExp cannot match exactly the same strings. */
  refuse(message: string, at = this.pos): never {
    const where = Math.max(0, at - this.offset);
    throw new PyRegexUnsupported(`position ${where}: ${message}`, where);
  }

  peek(n = 0): string | undefined {
    return this.cps[this.pos + n];
  }

  /** Python's token: one character, or a backslash and the character after it. */
  peekToken(): string | undefined {
    const c = this.cps[this.pos];
    if (c === '\\') {
      const next = this.cps[this.pos + 1];
      return next === undefined ? '\\' : `\\${next}`;
    }
    return c;
  }

  getToken(): string | undefined {
    const tok = this.peekToken();
    if (tok === '\\') this.fail('bad escape (end of pattern)');
    if (tok !== undefined) this.pos += Array.from(tok).length;
    return tok;
  }

  skipVerbose(): void {
    if (!this.flags.x) return;
    for (;;) {
      const c = this.peek();
      if (c !== undefined && WHITESPACE.has(c)) this.pos++;
      else if (c === '#') {
        // To the end of the line, token by token (an escaped newline does not end it).
        for (let tok = this.getToken(); tok !== undefined && tok !== '\n'; tok = this.getToken());
      } else return;
    }
  }

  /** alternation := sequence ('|' sequence)* */
  parseAlt(): Alt {
    const branches: Node[][] = [];
    const spans: Array<[number, number]> = [];
    for (;;) {
      const start = this.pos;
      branches.push(this.parseSeq());
      spans.push([start, this.pos]);
      if (this.peek() === '|') {
        this.pos++;
        continue;
      }
      return { branches, spans };
    }
  }

  parseSeq(): Node[] {
    const seq: Node[] = [];
    for (;;) {
      this.skipVerbose();
      const tok = this.peekToken();
      if (tok === undefined || tok === '|' || tok === ')') return seq;
      const at = this.pos;
      if (tok === '*' || tok === '+' || tok === '?' || tok === '{') {
        const rep = this.parseRepeat();
        if (rep === null) {
          // A `{` that does not start a valid repeat is a literal.
          seq.push({ t: 'lit', cp: '{'.codePointAt(0)! });
          continue;
        }
        const item = seq.pop();
        if (item === undefined || item.t === 'at') this.fail('nothing to repeat', at);
        if (item.t === 'repeat' && tok === '+' && !item.lazy) this.refuse('possessive quantifiers (*+, ++, ?+) need Python 3.11 and cannot be translated', at);
        if (item.t === 'repeat') this.fail('multiple repeat', at);
        if (item.t === 'look') this.refuse('a repeated look-ahead or look-behind cannot be translated (JavaScript refuses it)', at);
        seq.push({ t: 'repeat', min: rep.min, max: rep.max, lazy: rep.lazy, item });
        continue;
      }
      const node = this.parseAtom();
      if (node !== null) seq.push(node);
    }
  }

  /** A repeat operator at pos, or null (pos unchanged) for a `{` that is a literal. */
  parseRepeat(): { min: number; max: number; lazy: boolean } | null {
    const c = this.peek()!;
    let min: number;
    let max: number;
    if (c === '{') {
      const start = this.pos;
      this.pos++;
      if (this.peek() === '}') {
        this.pos = start + 1;
        return null;
      }
      let lo = '';
      let hi = '';
      while (this.peek() !== undefined && DIGITS.test(this.peek()!)) lo += this.cps[this.pos++];
      if (this.peek() === ',') {
        this.pos++;
        while (this.peek() !== undefined && DIGITS.test(this.peek()!)) hi += this.cps[this.pos++];
      } else hi = lo;
      if (this.peek() !== '}') {
        this.pos = start + 1;
        return null;
      }
      this.pos++;
      min = lo === '' ? 0 : Number(lo);
      max = hi === '' ? Infinity : Number(hi);
      if (min >= MAXREPEAT || (max !== Infinity && max >= MAXREPEAT)) this.fail('the repetition number is too large', start);
      if (max < min) this.fail('min repeat greater than max repeat', start + 1 + lo.length + 1);
    } else {
      this.pos++;
      [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    }
    let lazy = false;
    if (this.peek() === '?') {
      this.pos++;
      lazy = true;
    }
    return { min, max, lazy };
  }

  parseAtom(): Node | null {
    const start = this.pos;
    const tok = this.getToken()!;
    if (tok === '.') return { t: 'any', dotall: this.flags.s };
    if (tok === '^') return { t: 'at', at: 'begin', multiline: this.flags.m, ascii: this.flags.a };
    if (tok === '$') return { t: 'at', at: 'end', multiline: this.flags.m, ascii: this.flags.a };
    if (tok === '[') return this.parseClass(start);
    if (tok === '(') return this.parseGroup(start);
    if (tok.startsWith('\\')) return this.parseEscape(tok, start);
    return { t: 'lit', cp: tok.codePointAt(0)! };
  }

  /** \xhh, \uhhhh, \Uhhhhhhhh: exactly that many hex digits. */
  hexEscape(kind: string, start: number): number {
    const n = kind === 'x' ? 2 : kind === 'u' ? 4 : 8;
    let digits = '';
    while (digits.length < n && this.peek() !== undefined && HEX.test(this.peek()!)) digits += this.cps[this.pos++];
    if (digits.length !== n) this.fail(`incomplete escape \\${kind}${digits}`, start);
    const cp = parseInt(digits, 16);
    if (cp > 0x10ffff) this.fail(`bad escape \\${kind}${digits}`, start);
    return cp;
  }

  parseEscape(tok: string, start: number): Node {
    const c = tok[1];
    if (CATS.has(c)) return { t: 'cat', cat: c as Cat, ascii: this.flags.a };
    if (c === 'A') return { t: 'at', at: 'A', multiline: false, ascii: this.flags.a };
    if (c === 'Z') return { t: 'at', at: 'Z', multiline: false, ascii: this.flags.a };
    if (c === 'b') return { t: 'at', at: 'b', multiline: false, ascii: this.flags.a };
    if (c === 'B') return { t: 'at', at: 'B', multiline: false, ascii: this.flags.a };
    if (c in SIMPLE_ESCAPES) return { t: 'lit', cp: SIMPLE_ESCAPES[c] };
    if (c === 'x' || c === 'u' || c === 'U') return { t: 'lit', cp: this.hexEscape(c, start) };
    if (c === 'N') this.refuse('\\N{...} named characters are not supported by poolctl; write the character itself or \\uXXXX', start);
    if (c === '0') {
      let digits = '0';
      while (digits.length < 3 && this.peek() !== undefined && OCT.test(this.peek()!)) digits += this.cps[this.pos++];
      return { t: 'lit', cp: parseInt(digits, 8) };
    }
    if (DIGITS.test(c)) {
      // Three octal digits are an octal escape; otherwise one or two digits name a group.
      let digits = c;
      if (this.peek() !== undefined && DIGITS.test(this.peek()!)) {
        digits += this.cps[this.pos++];
        if (OCT.test(digits[0]) && OCT.test(digits[1]) && this.peek() !== undefined && OCT.test(this.peek()!)) {
          digits += this.cps[this.pos++];
          const cp = parseInt(digits, 8);
          if (cp > 0o377) this.fail(`octal escape value \\${digits} outside of range 0-0o377`, start);
          return { t: 'lit', cp };
        }
      }
      return this.groupRef(Number(digits), start);
    }
    if (ASCII_LETTER.test(c)) this.fail(`bad escape \\${c}`, start);
    return { t: 'lit', cp: tok.slice(1).codePointAt(0)! };
  }

  groupRef(index: number, start: number): Node {
    if (index > this.groups) this.fail(`invalid group reference ${index}`, start + 1);
    if (this.open.has(index)) this.fail('cannot refer to an open group', start);
    if (this.lookbehindDepth > 0) this.refuse('a group reference inside a look-behind cannot be translated faithfully', start);
    return { t: 'ref', index };
  }

  classEscape(tok: string, start: number): ClassItem {
    const c = tok[1];
    if (c === 'b') return { t: 'lit', cp: 8 };
    if (c in SIMPLE_ESCAPES) return { t: 'lit', cp: SIMPLE_ESCAPES[c] };
    if (CATS.has(c)) return { t: 'cat', cat: c as Cat, ascii: this.flags.a };
    if (c === 'x' || c === 'u' || c === 'U') return { t: 'lit', cp: this.hexEscape(c, start) };
    if (c === 'N') this.refuse('\\N{...} named characters are not supported by poolctl; write the character itself or \\uXXXX', start);
    if (OCT.test(c)) {
      let digits = c;
      while (digits.length < 3 && this.peek() !== undefined && OCT.test(this.peek()!)) digits += this.cps[this.pos++];
      const cp = parseInt(digits, 8);
      if (cp > 0o377) this.fail(`octal escape value \\${digits} outside of range 0-0o377`, start);
      return { t: 'lit', cp };
    }
    if (DIGITS.test(c) || ASCII_LETTER.test(c)) this.fail(`bad escape \\${c}`, start);
    return { t: 'lit', cp: tok.slice(1).codePointAt(0)! };
  }

  parseClass(start: number): Node {
    const items: ClassItem[] = [];
    let negate = false;
    if (this.peek() === '^') {
      this.pos++;
      negate = true;
    }
    for (;;) {
      const at = this.pos;
      const tok = this.getToken();
      if (tok === undefined) this.fail('unterminated character set', start);
      // A `]` first in the set is a literal.
      if (tok === ']' && items.length > 0) break;
      const first = tok.startsWith('\\') ? this.classEscape(tok, at) : ({ t: 'lit', cp: tok.codePointAt(0)! } as ClassItem);
      if (this.peek() === '-') {
        this.pos++;
        const thatAt = this.pos;
        const that = this.getToken();
        if (that === undefined) this.fail('unterminated character set', start);
        if (that === ']') {
          items.push(first, { t: 'lit', cp: 45 });
          break;
        }
        const second = that.startsWith('\\') ? this.classEscape(that, thatAt) : ({ t: 'lit', cp: that.codePointAt(0)! } as ClassItem);
        if (first.t !== 'lit' || second.t !== 'lit') this.fail(`bad character range ${tok}-${that}`, at);
        if (second.cp < first.cp) this.fail(`bad character range ${tok}-${that}`, at);
        items.push({ t: 'range', lo: first.cp, hi: second.cp });
      } else items.push(first);
    }
    return { t: 'class', negate, items };
  }

  /** Reads flag letters; returns them and leaves pos on the first non-letter. */
  flagLetters(): string {
    let s = '';
    while (this.peek() !== undefined && /^[aiLmsux]$/.test(this.peek()!)) s += this.cps[this.pos++];
    return s;
  }

  parseGroup(start: number): Node | null {
    if (this.peek() !== '?') return this.capture(start, undefined);
    this.pos++;
    const c = this.peek();
    if (c === undefined) this.fail('unexpected end of pattern', this.pos);
    if (c === ':') {
      this.pos++;
      const body = this.groupBody(start);
      return { t: 'group', index: null, body };
    }
    if (c === 'P') {
      this.pos++;
      const k = this.peek();
      if (k === '<') {
        this.pos++;
        const name = this.groupName('>');
        if (this.names.has(name)) this.fail(`redefinition of group name ${JSON.stringify(name)} as group ${this.groups + 1}; was group ${this.names.get(name)}`, start);
        return this.capture(start, name);
      }
      if (k === '=') {
        this.pos++;
        const name = this.groupName(')');
        const index = this.names.get(name);
        if (index === undefined) this.fail(`unknown group name ${JSON.stringify(name)}`, start);
        return this.groupRef(index, start);
      }
      if (k === undefined) this.fail('unexpected end of pattern', this.pos);
      this.fail(`unknown extension ?P${k}`, start + 1);
    }
    if (c === '#') {
      // A comment runs to the first unescaped `)`.
      for (;;) {
        const tok = this.getToken();
        if (tok === undefined) this.fail('missing ), unterminated comment', start);
        if (tok === ')') return null;
      }
    }
    if (c === '=' || c === '!') {
      this.pos++;
      return { t: 'look', behind: false, negate: c === '!', body: this.groupBody(start) };
    }
    if (c === '<') {
      this.pos++;
      const d = this.peek();
      if (d !== '=' && d !== '!') {
        if (d === undefined) this.fail('unexpected end of pattern', this.pos);
        this.fail(`unknown extension ?<${d}`, start + 1);
      }
      this.pos++;
      this.lookbehindDepth++;
      const body = this.groupBody(start);
      this.lookbehindDepth--;
      const [lo, hi] = altWidth(body);
      if (lo !== hi) this.fail('look-behind requires fixed-width pattern', start);
      return { t: 'look', behind: true, negate: d === '!', body };
    }
    if (c === '(') this.refuse('conditional groups (?(id)yes|no) cannot be translated faithfully', start);
    if (c === '>') this.refuse('atomic groups (?>...) need Python 3.11 and cannot be translated', start);
    if (/^[aiLmsux-]$/.test(c)) return this.flagGroup(start);
    this.fail(`unknown extension ?${c}`, start + 1);
  }

  groupName(terminator: string): string {
    const from = this.pos;
    let name = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail(`missing ${terminator}, unterminated name`, from);
      this.pos++;
      if (c === terminator) break;
      name += c;
    }
    if (name === '') this.fail('missing group name', from);
    // Python: str.isidentifier(). JavaScript group names accept the same identifiers.
    if (!/^[\p{XID_Start}_][\p{XID_Continue}]*$/u.test(name)) this.fail(`bad character in group name ${JSON.stringify(name)}`, from);
    return name;
  }

  capture(start: number, name: string | undefined): Node {
    const index = ++this.groups;
    if (name !== undefined) this.names.set(name, index);
    this.open.add(index);
    const body = this.groupBody(start);
    this.open.delete(index);
    return { t: 'group', index, name, body };
  }

  groupBody(start: number): Alt {
    const body = this.parseAlt();
    if (this.peek() !== ')') this.fail('missing ), unterminated subpattern', start);
    this.pos++;
    return body;
  }

  /** (?flags) anywhere but the start, or a scoped (?flags-flags:...) group. */
  flagGroup(start: number): Node | null {
    const add = this.flagLetters();
    let del = '';
    if (this.peek() === '-') {
      this.pos++;
      del = this.flagLetters();
      if (del === '') this.fail('missing flag', this.pos);
    }
    const end = this.peek();
    if (end === ')' && del !== '') this.fail('missing :', this.pos);
    if (end === ')') {
      this.refuse(`global flags (?${add}) not at the start of the regex: Python 3.11+ refuses them there, older Python applies them to the whole regex; put them first`, start);
    }
    if (end !== ':') this.fail(end === undefined ? 'missing -, : or )' : `unknown flag`, this.pos);
    this.pos++;
    if (add.includes('L') || del.includes('L')) this.fail("bad inline flags: cannot use 'L' flag with a str pattern", start);
    if (/[au]/.test(del)) this.fail("bad inline flags: cannot turn off flags 'a', 'u' and 'L'", start);
    if (add.includes('a') && add.includes('u')) this.fail("bad inline flags: flags 'a', 'u' and 'L' are incompatible", start);
    for (const f of add) if (del.includes(f)) this.fail('bad inline flags: flag turned on and off', start);
    const saved = this.flags;
    const next: Flags = { ...saved };
    for (const f of add) {
      if (f === 'u') next.a = false;
      else if (f !== 'L') next[f as keyof Flags] = true;
    }
    for (const f of del) next[f as keyof Flags] = false;
    if (next.i !== saved.i) this.refuse(`a scoped case-insensitivity change (?${add}${del ? '-' + del : ''}:...) cannot be translated (JavaScript on Node 20 has no scoped flags); use (?i) at the start for the whole regex`, start);
    if (next.a && next.i) this.refuse('(?a) with (?i) cannot be translated faithfully (ASCII-only case folding)', start);
    this.flags = next;
    const body = this.groupBody(start);
    this.flags = saved;
    return { t: 'group', index: null, body };
  }
}

function seqWidth(seq: Node[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const n of seq) {
    const [a, b] = nodeWidth(n);
    lo += a;
    hi += b;
  }
  return [lo, hi];
}

function altWidth(alt: Alt): [number, number] {
  let lo = Infinity;
  let hi = 0;
  for (const b of alt.branches) {
    const [a, c] = seqWidth(b);
    lo = Math.min(lo, a);
    hi = Math.max(hi, c);
  }
  return [lo === Infinity ? 0 : lo, hi];
}

function nodeWidth(n: Node): [number, number] {
  switch (n.t) {
    case 'lit':
    case 'any':
    case 'class':
    case 'cat':
      return [1, 1];
    case 'at':
    case 'look':
      return [0, 0];
    case 'group':
      return altWidth(n.body);
    case 'ref':
      // Refused inside look-behinds before widths matter.
      return [0, Infinity];
    case 'repeat': {
      const [a, b] = nodeWidth(n.item);
      return [a * n.min, b === 0 ? 0 : b * n.max];
    }
  }
}
