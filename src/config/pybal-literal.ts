// Python literal values as PyBal reads them from pybal.conf (`[ 'ProxyFetch' ]`, `.5`, `True`) and from
// legacy server lists (`{ 'host': 'x', 'weight': 10, 'enabled': True }`). PyBal eval()s these; we only
// accept the literal subset, plus dotted names (`server.host`) that runcommand.arguments may reference.

/** A bare (dotted) Python name such as `server.host`; PyBal resolves it per server at check time. */
export class PyName {
  constructor(readonly name: string) {}
}

export type PyValue = string | number | boolean | null | PyName | PyValue[] | { [key: string]: PyValue };

export type LiteralResult = { ok: true; value: PyValue } | { ok: false; offset: number; message: string };

class LiteralSyntax extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

const NUMBER = /[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  fail(message: string, at = this.pos): never {
    throw new LiteralSyntax(at, message);
  }

  value(): PyValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === undefined) this.fail('expected a value, found end of text');
    if (c === '[' || c === '(') return this.sequence(c === '[' ? ']' : ')');
    if (c === '{') return this.dict();
    if (c === "'" || c === '"') return this.string();
    if ((c === 'u' || c === 'U') && (this.text[this.pos + 1] === "'" || this.text[this.pos + 1] === '"')) {
      this.pos++;
      return this.string();
    }
    NUMBER.lastIndex = this.pos;
    const num = NUMBER.exec(this.text);
    if (num) {
      this.pos += num[0].length;
      return Number(num[0]);
    }
    NAME.lastIndex = this.pos;
    const name = NAME.exec(this.text);
    if (name) {
      this.pos += name[0].length;
      if (name[0] === 'True') return true;
      if (name[0] === 'False') return false;
      if (name[0] === 'None') return null;
      return new PyName(name[0]);
    }
    return this.fail(`unexpected character ${JSON.stringify(c)}`);
  }

  string(): string {
    const quote = this.text[this.pos];
    const start = this.pos;
    this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === quote) {
        this.pos++;
        return out;
      }
      if (c === '\n') break;
      if (c === '\\') {
        const e = this.text[this.pos + 1];
        out += e !== undefined && e in ESCAPES ? ESCAPES[e] : `\\${e ?? ''}`;
        this.pos += 2;
        continue;
      }
      out += c;
      this.pos++;
    }
    return this.fail(`unterminated string starting with ${quote}`, start);
  }

  sequence(close: string): PyValue[] {
    const open = this.pos;
    this.pos++;
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      if (this.pos >= this.text.length) this.fail(`missing ${close} for the list opened here`, open);
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected , or ${close}`);
    }
  }

  dict(): { [key: string]: PyValue } {
    const open = this.pos;
    this.pos++;
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return out;
      }
      if (this.pos >= this.text.length) this.fail('missing } for the dict opened here', open);
      const keyAt = this.pos;
      const key = this.value();
      if (typeof key !== 'string') this.fail('dict keys must be strings', keyAt);
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail('expected : after dict key');
      this.pos++;
      out[key] = this.value();
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== '}') this.fail('expected , or }');
    }
  }
}

/** Parses one Python literal that must span the whole text (surrounding whitespace allowed). */
export function parsePyLiteral(text: string): LiteralResult {
  const r = new Reader(text);
  try {
    const value = r.value();
    r.skipSpace();
    if (r.pos < text.length) r.fail('unexpected text after the value');
    return { ok: true, value };
  } catch (e) {
    if (e instanceof LiteralSyntax) return { ok: false, offset: e.offset, message: e.message };
    throw e;
  }
}

/** Python-literal text for a value, the way pybal.conf writes it: single-quoted strings, `True`. */
export function formatPyLiteral(v: PyValue): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (v instanceof PyName) return v.name;
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[ ${v.map(formatPyLiteral).join(', ')} ]`;
  const entries = Object.entries(v).map(([k, x]) => `${formatPyLiteral(k)}: ${formatPyLiteral(x)}`);
  return `{ ${entries.join(', ')} }`;
}
