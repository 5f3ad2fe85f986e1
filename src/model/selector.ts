// conftool's selector semantics (confctl select), so the same selector picks the same hosts:
// - `tag=regex,tag=regex`, split at EVERY comma and then at the first `=` of each part (a regex
//   cannot contain a comma; conftool fails on such a selector, poolctl says why);
// - tags dc, cluster, service, name, spelled exactly (no spaces); a tag given twice: the last wins;
// - each regex is Python's, compiled as re.compile('^' + regex + '$') and tested with .match():
//   anchored at the start, and at the end only through the `$` conftool appends, WITHOUT a group.
//   So a top-level alternation `a|b` is ^a|b$: a name matching `a` at its start, or `b` in full.
//   (pyregex.ts translates Python's syntax: (?P<name>..), (?P=name), \Z, (?i), ...)
// Pure, so it can be fuzzed.
import { UsageError } from './errors.js';
import { compileConftoolRegex, PyRegexError } from './pyregex.js';
import type { HostKey } from './types.js';

export const SELECTOR_TAGS = ['dc', 'cluster', 'service', 'name'] as const;
export type SelectorTag = (typeof SELECTOR_TAGS)[number];

/** Each RegExp tests a whole label with conftool's anchoring (see compileConftoolRegex). */
export type Selector = Partial<Record<SelectorTag, RegExp>>;

export interface ParsedSelector {
  selector: Selector;
  /** Where conftool's reading is surprising, said plainly (for --dry-run and confirmations). */
  notes: string[];
}

export function parseSelector(text: string): Selector {
  return parseSelectorWithNotes(text).selector;
}

export function parseSelectorWithNotes(text: string): ParsedSelector {
  const selector: Selector = {};
  if (text === '') throw new UsageError('empty selector: expected tag=regex[,tag=regex...] with tags dc, cluster, service, name');
  const given = new Map<SelectorTag, string>();
  const repeated: string[] = [];
  const regexNotes = new Map<SelectorTag, string[]>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      const why = given.size > 0
        ? '; conftool splits a selector at every comma, so a regex cannot contain one (instead of {m,n} use alternatives, e.g. (a|aa))'
        : '';
      throw new UsageError(`bad selector part '${part}' in '${text}': expected tag=regex${why}`, { selector: text, part });
    }
    const tag = part.slice(0, eq);
    const pattern = part.slice(eq + 1);
    if (!(SELECTOR_TAGS as readonly string[]).includes(tag)) {
      throw new UsageError(`unknown selector tag '${tag}' in '${text}': use one of ${SELECTOR_TAGS.join(', ')} (exactly, no spaces)`, { selector: text, tag });
    }
    const t = tag as SelectorTag;
    if (given.has(t)) repeated.push(`note: tag ${t} is given twice; conftool keeps the last, ${t}=${pattern} (${t}=${given.get(t)} is ignored)`);
    given.set(t, pattern);
    let compiled;
    try {
      compiled = compileConftoolRegex(pattern);
    } catch (err) {
      if (err instanceof PyRegexError) {
        throw new UsageError(`bad regex for '${t}' in selector '${text}': ${err.message} (Python re syntax; conftool compiles ^${pattern}$)`, { selector: text, tag: t, pos: err.pos });
      }
      throw err;
    }
    selector[t] = compiled.regex;
    const mine: string[] = [];
    if (compiled.branches.length > 1) mine.push(alternationNote(t, pattern, compiled.python, compiled.branches));
    if (compiled.globalFlags !== '') {
      mine.push(`note: ${t}=${pattern}: conftool compiles ${compiled.python}, flags after ^; Python 3.7-3.10 apply them to the whole regex (as poolctl does), Python 3.11+ refuses the selector`);
    }
    regexNotes.set(t, mine);
  }
  return { selector, notes: [...repeated, ...[...regexNotes.values()].flat()] };
}

/** Spells out ^a|b$ under re.match: (^a)|(^b$). */
function alternationNote(tag: SelectorTag, pattern: string, python: string, branches: string[]): string {
  const last = branches.length - 1;
  const grouped = branches.map((b, i) => `(${i === 0 ? b : `^${b}`})`).join('|');
  const starts = branches.slice(0, last).map((b, i) => `'${i === 0 ? b.slice(1) : b}'`);
  const whole = branches[last].endsWith('$') ? branches[last].slice(0, -1) : branches[last];
  return (
    `note: conftool anchors ${tag}=${pattern} as ${python} (no group), and re.match anchors every alternative at the start: ` +
    `that is ${grouped}, a ${tag} starting with ${starts.join(' or ')}, or '${whole}' in full; ` +
    `write ${tag}=(${pattern}) to match every alternative in full`
  );
}

export function selectorMatches(sel: Selector, key: HostKey): boolean {
  return (
    (sel.dc?.test(key.dc) ?? true) &&
    (sel.cluster?.test(key.cluster) ?? true) &&
    (sel.service?.test(key.service) ?? true) &&
    (sel.name?.test(key.host) ?? true)
  );
}

export type HostNameMatch = { kind: 'found'; hosts: string[] } | { kind: 'none' } | { kind: 'ambiguous'; candidates: string[] };

/**
 * A host is named by its FQDN; a short name (`sca1001`) matches the first label of an FQDN when that
 * is unambiguous. The same FQDN in several services is one host, so it is not ambiguity.
 */
export function matchHostName(name: string, knownHosts: Iterable<string>): HostNameMatch {
  const all = [...new Set(knownHosts)].sort();
  if (all.includes(name)) return { kind: 'found', hosts: [name] };
  if (name.includes('.')) return { kind: 'none' };
  const byLabel = all.filter((h) => h.split('.')[0] === name);
  if (byLabel.length === 0) return { kind: 'none' };
  if (byLabel.length === 1) return { kind: 'found', hosts: byLabel };
  return { kind: 'ambiguous', candidates: byLabel };
}
