// conftool's selector semantics: `tag=regex[,tag=regex...]`, every regex anchored (^...$),
// tags dc, cluster, service, name. Pure, so it can be fuzzed.
import { UsageError } from './errors.js';
import type { HostKey } from './types.js';

export const SELECTOR_TAGS = ['dc', 'cluster', 'service', 'name'] as const;
export type SelectorTag = (typeof SELECTOR_TAGS)[number];

export type Selector = Partial<Record<SelectorTag, RegExp>>;

export function parseSelector(text: string): Selector {
  const selector: Selector = {};
  if (text.trim() === '') throw new UsageError('empty selector: expected tag=regex[,tag=regex...] with tags dc, cluster, service, name');
  // Split on commas that start a new `tag=`, so a regex may itself contain commas (e.g. `name=mw1{1,3}`).
  const parts = text.split(/,(?=\s*[A-Za-z_]+=)/);
  for (const raw of parts) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(`bad selector part '${part}' in '${text}': expected tag=regex`, { selector: text, part });
    }
    const tag = part.slice(0, eq).trim();
    const pattern = part.slice(eq + 1);
    if (!(SELECTOR_TAGS as readonly string[]).includes(tag)) {
      throw new UsageError(`unknown selector tag '${tag}' in '${text}': use one of ${SELECTOR_TAGS.join(', ')}`, { selector: text, tag });
    }
    if (tag in selector) throw new UsageError(`selector tag '${tag}' given twice in '${text}'`, { selector: text, tag });
    try {
      selector[tag as SelectorTag] = new RegExp(`^(?:${pattern})$`);
    } catch (err) {
      throw new UsageError(`bad regex for '${tag}' in selector '${text}': ${(err as Error).message}`, { selector: text, tag });
    }
  }
  return selector;
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
