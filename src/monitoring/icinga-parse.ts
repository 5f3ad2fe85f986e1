// Reads back deployed Icinga config far enough for drift detection: Icinga 2 `object Type "name" { ... }`
// blocks with literal attribute values (strings, numbers, durations, booleans, arrays, dictionaries), and
// Nagios/Icinga 1 `define type { ... }` blocks. Expressions we do not evaluate are recorded as warnings
// (never guessed at); templates, apply rules and includes are skipped.
import { ConfigError, type ConfigProblem } from '../model/errors.js';

export type IcingaValue = string | number | boolean | null | IcingaValue[] | { [k: string]: IcingaValue };

export interface IcingaObject {
  type: string;
  name: string;
  line: number;
  /** Attributes; dotted assignments (`vars.x = 1`) and dictionaries (`vars = { x = 1 }`) are flattened to `vars.x`. */
  attrs: Record<string, IcingaValue>;
}

export interface ParsedIcinga {
  objects: IcingaObject[];
  warnings: ConfigProblem[];
}

type Tok = { kind: 'str' | 'num' | 'ident' | 'punct'; text: string; value?: string | number; line: number; col: number };

const DURATION: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

function tokenize(text: string, file: string, problems: ConfigProblem[]): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = () => ({ line, col: i - lineStart + 1 });
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      for (; i < stop; i++) if (text[i] === '\n') { line++; lineStart = i + 1; }
      continue;
    }
    const pos = at();
    if (c === '{' && text.startsWith('{{{', i)) {
      const end = text.indexOf('}}}', i + 3);
      const stop = end < 0 ? text.length : end;
      const value = text.slice(i + 3, stop);
      toks.push({ kind: 'str', text: value, value, ...pos });
      for (; i < stop + 3 && i < text.length; i++) if (text[i] === '\n') { line++; lineStart = i + 1; }
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let out = '';
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') {
        if (text[j] === '\\') {
          const e = text[j + 1];
          out += e === 'n' ? '\n' : e === 't' ? '\t' : e ?? '';
          j += 2;
        } else out += text[j++];
      }
      if (text[j] !== '"') problems.push({ file, ...pos, message: 'unterminated string' });
      toks.push({ kind: 'str', text: text.slice(i, j + 1), value: out, ...pos });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(?:\.\d+)?(ms|s|m|h|d)?(?![A-Za-z0-9_])/.exec(text.slice(i, i + 40));
    if (num) {
      const n = Number(num[0].replace(/[a-z]+$/, ''));
      toks.push({ kind: 'num', text: num[0], value: num[1] ? n * DURATION[num[1]] : n, ...pos });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 200));
    if (id) {
      toks.push({ kind: 'ident', text: id[0], ...pos });
      i += id[0].length;
      continue;
    }
    const two = text.slice(i, i + 2);
    const p = ['+=', '-=', '==', '!=', '&&', '||', '=>'].includes(two) ? two : c;
    toks.push({ kind: 'punct', text: p, ...pos });
    i += p.length;
  }
  return toks;
}

class Icinga2Parser {
  i = 0;
  constructor(
    readonly toks: Tok[],
    readonly file: string,
    readonly warnings: ConfigProblem[],
    readonly problems: ConfigProblem[],
  ) {}

  peek(o = 0): Tok | undefined {
    return this.toks[this.i + o];
  }

  is(text: string, o = 0): boolean {
    const t = this.peek(o);
    return t !== undefined && t.kind !== 'str' && t.text === text;
  }

  /** Skips one balanced group starting at the current `{`, `[` or `(`. */
  skipGroup(): void {
    let depth = 0;
    while (this.i < this.toks.length) {
      const t = this.toks[this.i++];
      if (t.kind === 'punct' && (t.text === '{' || t.text === '[' || t.text === '(')) depth++;
      if (t.kind === 'punct' && (t.text === '}' || t.text === ']' || t.text === ')')) depth--;
      if (depth === 0) return;
    }
  }

  /** Skips the rest of a statement: to the end of its line (balanced groups included) or a `;`. */
  skipStatement(line: number): void {
    while (this.i < this.toks.length) {
      const t = this.peek()!;
      if (t.line !== line && t.kind !== 'punct') return;
      if (t.kind === 'punct' && t.text === ';') {
        this.i++;
        return;
      }
      if (t.kind === 'punct' && t.text === '}') return;
      if (t.kind === 'punct' && (t.text === '{' || t.text === '[' || t.text === '(')) this.skipGroup();
      else this.i++;
      if (this.peek() && this.peek()!.line !== line) return;
    }
  }

  /** A literal value, or undefined (with the position restored) when it is an expression. */
  value(): IcingaValue | undefined {
    const start = this.i;
    const t = this.peek();
    if (!t) return undefined;
    let v: IcingaValue | undefined;
    if (t.kind === 'str') {
      this.i++;
      v = t.value as string;
    } else if (t.kind === 'num') {
      this.i++;
      v = t.value as number;
    } else if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false' || t.text === 'null')) {
      this.i++;
      v = t.text === 'null' ? null : t.text === 'true';
    } else if (this.is('[')) {
      this.i++;
      const items: IcingaValue[] = [];
      while (!this.is(']')) {
        const x = this.value();
        if (x === undefined) {
          this.i = start;
          return undefined;
        }
        items.push(x);
        if (this.is(',')) this.i++;
        else if (!this.is(']')) {
          this.i = start;
          return undefined;
        }
      }
      this.i++;
      v = items;
    } else if (this.is('{')) {
      this.i++;
      const dict: { [k: string]: IcingaValue } = {};
      while (!this.is('}')) {
        const k = this.peek();
        if (!k || (k.kind !== 'ident' && k.kind !== 'str') || !this.is('=', 1)) {
          this.i = start;
          return undefined;
        }
        this.i += 2;
        const x = this.value();
        if (x === undefined) {
          this.i = start;
          return undefined;
        }
        dict[k.kind === 'str' ? (k.value as string) : k.text] = x;
        if (this.is(';') || this.is(',')) this.i++;
      }
      this.i++;
      v = dict;
    }
    if (v === undefined) return undefined;
    // `"a" + x` and friends are expressions: the literal alone would be a wrong answer.
    const next = this.peek();
    if (next && next.line === t.line && next.kind === 'punct' && ['+', '-', '*', '/', '==', '!=', '&&', '||', '.', '('].includes(next.text)) {
      this.i = start;
      return undefined;
    }
    return v;
  }

  flatten(attrs: Record<string, IcingaValue>, key: string, v: IcingaValue): void {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && key === 'vars') {
      for (const [k, x] of Object.entries(v)) attrs[`vars.${k}`] = x;
    } else attrs[key] = v;
  }

  body(obj: IcingaObject): void {
    this.i++; // {
    while (this.i < this.toks.length && !this.is('}')) {
      const t = this.peek()!;
      if (this.is(';')) {
        this.i++;
        continue;
      }
      // lhs: ident(.ident | ["key"])*
      let key = '';
      if (t.kind === 'ident') {
        key = t.text;
        this.i++;
        while (this.is('.') || this.is('[')) {
          if (this.is('.') && this.peek(1)?.kind === 'ident') {
            key += `.${this.peek(1)!.text}`;
            this.i += 2;
          } else if (this.is('[') && this.peek(1)?.kind === 'str' && this.is(']', 2)) {
            key += `.${this.peek(1)!.value as string}`;
            this.i += 3;
          } else break;
        }
      }
      if (key && (this.is('=') || this.is('+='))) {
        const op = this.peek()!.text;
        this.i++;
        const v = this.value();
        if (v !== undefined && op === '=') {
          this.flatten(obj.attrs, key, v);
          continue;
        }
        this.warnings.push({ file: this.file, line: t.line, col: t.col, message: `${obj.type} "${obj.name}": ${key} ${op} is not a literal; not compared` });
        this.skipStatement(t.line);
        continue;
      }
      if (key === 'import' && this.peek()?.kind === 'str') {
        obj.attrs[`import.${this.peek()!.value as string}`] = true;
        this.i++;
        continue;
      }
      this.warnings.push({ file: this.file, line: t.line, col: t.col, message: `${obj.type} "${obj.name}": statement not understood; not compared` });
      this.i = Math.max(this.i, this.toks.indexOf(t) + 1);
      this.skipStatement(t.line);
    }
    if (!this.is('}')) this.problems.push({ file: this.file, line: obj.line, col: 1, message: `${obj.type} "${obj.name}": missing }` });
    this.i++;
  }

  parse(): IcingaObject[] {
    const objects: IcingaObject[] = [];
    while (this.i < this.toks.length) {
      const t = this.peek()!;
      if (t.kind === 'ident' && t.text === 'object' && this.peek(1)?.kind === 'ident' && this.peek(2)?.kind === 'str') {
        const obj: IcingaObject = { type: this.peek(1)!.text, name: this.peek(2)!.value as string, line: t.line, attrs: {} };
        this.i += 3;
        while (this.i < this.toks.length && !this.is('{')) this.i++; // `ignore_on_error`, `use (...)`
        if (this.i >= this.toks.length) {
          this.problems.push({ file: this.file, line: t.line, col: t.col, message: `object ${obj.type} "${obj.name}" has no body` });
          break;
        }
        this.body(obj);
        objects.push(obj);
        continue;
      }
      // const, include, template, apply, globals: not objects we compare; skip them whole.
      this.i++;
      while (this.i < this.toks.length && this.peek()!.line === t.line && !this.is('{')) this.i++;
      if (this.is('{') && this.peek()!.line >= t.line) this.skipGroup();
    }
    return objects;
  }
}

/** Parses Icinga 2 object config; throws ConfigError for broken structure (unterminated strings, blocks). */
export function parseIcinga2(text: string, file: string): ParsedIcinga {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const toks = tokenize(text, file, problems);
  const objects = new Icinga2Parser(toks, file, warnings, problems).parse();
  if (problems.length > 0) throw new ConfigError(problems);
  return { objects, warnings };
}

const NAGIOS_ARRAY_VARS = new Set(['vars.poold_backends', 'vars.poold_checks', 'vars.poold_http_paths']);

/**
 * Parses Nagios object definitions into the same shape: `host_name`, `check_command` (the command
 * name; its `!` arguments become `check_args`) and custom variables `_POOLD_X` as `vars.poold_x`.
 */
export function parseNagios(text: string, file: string): ParsedIcinga {
  const problems: ConfigProblem[] = [];
  const objects: IcingaObject[] = [];
  let current: IcingaObject | null = null;
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = idx + 1;
    const s = raw.replace(/(^|[^\\]);.*$/, '$1').trim();
    if (s === '' || s.startsWith('#')) return;
    const def = /^define\s+(\w+)\s*\{\s*$/.exec(s);
    if (def) {
      if (current) problems.push({ file, line: current.line, col: 1, message: `define ${current.type} is missing its closing }` });
      const type = def[1].charAt(0).toUpperCase() + def[1].slice(1);
      current = { type: type === 'Command' ? 'CheckCommand' : type, name: '', line, attrs: {} };
      return;
    }
    if (s === '}') {
      if (!current) {
        problems.push({ file, line, col: raw.indexOf('}') + 1, message: 'unexpected }' });
        return;
      }
      const a = current.attrs;
      current.name = String(a.service_description ?? a.host_name ?? a.command_name ?? a.name ?? '');
      if (current.type === 'Service' && typeof a.check_command === 'string') {
        const parts = a.check_command.split(/(?<!\\)!/).map((p) => p.replace(/\\!/g, '!'));
        a.check_command = parts[0];
        a.check_args = parts.slice(1);
      }
      objects.push(current);
      current = null;
      return;
    }
    if (!current) {
      problems.push({ file, line, col: 1, message: 'directive outside a define block' });
      return;
    }
    const m = /^(\S+)\s*(.*)$/.exec(s)!;
    const key = m[1].startsWith('_') ? `vars.${m[1].slice(1).toLowerCase()}` : m[1];
    const value = m[2].replace(/\\;/g, ';');
    current.attrs[key] = NAGIOS_ARRAY_VARS.has(key) ? (value === '' ? [] : value.split(',')) : /^-?\d+(\.\d+)?$/.test(value) && key.startsWith('vars.') && !key.endsWith('_status') ? Number(value) : value;
  });
  if (current) problems.push({ file, line: (current as IcingaObject).line, col: 1, message: 'define block is missing its closing }' });
  if (problems.length > 0) throw new ConfigError(problems);
  return { objects, warnings: [] };
}
