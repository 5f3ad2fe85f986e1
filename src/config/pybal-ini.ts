// The INI dialect of Python 2's ConfigParser, which PyBal uses for pybal.conf:
// `[section]` headers, `name = value` or `name: value`, option names case-insensitive (lowercased),
// continuation lines start with whitespace, full-line comments start with # or ;, and ` ;` starts an
// inline comment. [DEFAULT] options are inherited by every section. Later duplicates win (with a warning).
import type { ConfigProblem } from '../model/errors.js';

export interface IniOption {
  /** Lowercased, as ConfigParser's optionxform does. */
  name: string;
  /** As written in the file. */
  rawName: string;
  value: string;
  line: number;
  /** Column of the option name. */
  col: number;
  /** Column of the first character of the value (or where it would start). */
  valueCol: number;
}

export interface IniSection {
  name: string;
  line: number;
  options: Map<string, IniOption>;
}

export interface IniDocument {
  file: string;
  sections: IniSection[];
  /** Syntax problems; the document is unusable when non-empty. */
  problems: ConfigProblem[];
  /** Legal but suspicious input (duplicates). */
  warnings: ConfigProblem[];
}

const SECTION = /^\[([^\]]+)\]\s*(?:[#;].*)?$/;
const OPTION = /^([^:=\s][^:=]*?)\s*([:=])\s?/;

export function parseIni(text: string, file: string): IniDocument {
  const doc: IniDocument = { file, sections: [], problems: [], warnings: [] };
  const defaults = new Map<string, IniOption>();
  let current: IniSection | null = null;
  let currentOptions: Map<string, IniOption> | null = null;
  let last: IniOption | null = null;
  const lines = text.split(/\r?\n/);
  const seenSections = new Map<string, number>();

  lines.forEach((raw, i) => {
    const line = i + 1;
    // ConfigParser skips blank lines without ending the option, so a later indented line still continues it.
    if (raw.trim() === '') return;
    if (/^[#;]/.test(raw) || /^rem(\s|$)/i.test(raw)) return;
    if (/^\s/.test(raw)) {
      if (last) {
        last.value = `${last.value}\n${raw.trim()}`;
      } else {
        doc.problems.push({ file, line, col: raw.search(/\S/) + 1, message: 'indented line continues no option (remove the leading whitespace)' });
      }
      return;
    }
    const sec = SECTION.exec(raw);
    if (sec) {
      const name = sec[1].trim();
      last = null;
      if (name === 'DEFAULT') {
        current = null;
        currentOptions = defaults;
        return;
      }
      const prev = seenSections.get(name);
      if (prev !== undefined) {
        doc.problems.push({ file, line, col: 1, message: `section [${name}] already defined at line ${prev}` });
      }
      seenSections.set(name, line);
      current = { name, line, options: new Map() };
      currentOptions = current.options;
      doc.sections.push(current);
      return;
    }
    if (raw.startsWith('[')) {
      doc.problems.push({ file, line, col: 1, message: 'malformed section header (expected [name])' });
      last = null;
      return;
    }
    const opt = OPTION.exec(raw);
    if (!opt) {
      doc.problems.push({ file, line, col: 1, message: 'expected "name = value", a [section] header or a comment' });
      last = null;
      return;
    }
    if (!currentOptions) {
      doc.problems.push({ file, line, col: 1, message: 'option before any [section] header' });
      last = null;
      return;
    }
    let value = raw.slice(opt[0].length);
    const inline = value.search(/\s;/);
    if (inline >= 0) value = value.slice(0, inline);
    value = value.trim();
    const rawName = opt[1].trim();
    const name = rawName.toLowerCase();
    const option: IniOption = { name, rawName, value, line, col: 1, valueCol: opt[0].length + 1 };
    const dup = currentOptions.get(name);
    if (dup) {
      doc.warnings.push({
        file,
        line,
        col: 1,
        message: `option ${rawName} repeats line ${dup.line} in ${current ? `[${(current as IniSection).name}]` : '[DEFAULT]'}; this later value wins, as in PyBal`,
      });
    }
    currentOptions.set(name, option);
    last = option;
  });

  for (const s of doc.sections) {
    for (const [k, v] of defaults) if (!s.options.has(k)) s.options.set(k, { ...v });
    for (const o of s.options.values()) {
      const r = interpolate(o.value, s.options, 0);
      if (typeof r === 'string') o.value = r;
      else doc.problems.push({ file, line: o.line, col: o.valueCol + r.offset, message: `[${s.name}] ${o.rawName}: ${r.message}` });
    }
  }
  return doc;
}

const MAX_INTERPOLATION_DEPTH = 10;

/**
 * SafeConfigParser's %-interpolation, which PyBal's config.items() applies: `%(name)s` is another
 * option of the section (or [DEFAULT]), `%%` is a literal %, any other % is an error.
 */
function interpolate(value: string, options: Map<string, IniOption>, depth: number): string | { offset: number; message: string } {
  if (!value.includes('%')) return value;
  if (depth > MAX_INTERPOLATION_DEPTH) return { offset: 0, message: 'interpolation nested too deeply (a %(name)s loop?)' };
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    if (value[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    const m = /^%\(([^)]+)\)s/.exec(value.slice(i));
    if (!m) return { offset: i, message: "'%' must be followed by '%' or '(name)s' (write %% for a literal %)" };
    const ref = options.get(m[1].toLowerCase());
    if (!ref) return { offset: i, message: `%(${m[1]})s names no option of this section or [DEFAULT]` };
    const inner = interpolate(ref.value, options, depth + 1);
    if (typeof inner !== 'string') return { offset: i, message: inner.message };
    out += inner;
    i += m[0].length - 1;
  }
  return out;
}
