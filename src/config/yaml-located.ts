// YAML → a tree of plain values that keeps where each value is written, for inputs poold reads but does
// not own (Wikimedia's service catalog, conftool-data's node files): their problems and the drift found in
// them are reported as file:line. Read as Puppet reads hiera data: YAML 1.1 (yes/no are booleans), aliases
// resolved to their anchor (the anchor is where the text is), and merge keys (`<<: *anchor`) applied, the
// map's own keys winning over merged ones.
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { ConfigProblem } from '../model/errors.js';
import { LineIndex, type Pos } from './pools/yaml-locate.js';

export interface LocatedEntry {
  /** Where the key is written. */
  keyAt: Pos;
  node: LocatedNode;
}

export interface LocatedNode {
  /** Where the value starts (an alias's value is located at its anchor). */
  at: Pos;
  /** Scalars: the value (strings after `transform`). Maps and sequences: see `map` / `seq`. */
  value: unknown;
  map?: Map<string, LocatedEntry>;
  seq?: LocatedNode[];
}

export interface LocatedDocument {
  root: LocatedNode | undefined;
  problems: ConfigProblem[];
}

export interface LocatedOptions {
  /** Rewrites every string scalar (keys and values), e.g. hiera's `%{::site}`; may report a problem. */
  transform?: (text: string, at: Pos, problem: (message: string) => void) => string;
}

/** Merge keys are a YAML 1.1 feature: yaml parses `<<` as a symbol in 1.1 mode. */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || key.value === '<<');
}

class Builder {
  readonly problems: ConfigProblem[] = [];
  /** Anchored nodes already built: an alias shares its anchor's tree (no exponential expansion). */
  private readonly built = new Map<Node, LocatedNode>();
  private readonly building = new Set<Node>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineIndex,
    private readonly file: string,
    private readonly opts: LocatedOptions,
  ) {}

  private pos(node: { range?: [number, number, number] | null } | null | undefined): Pos {
    return this.lines.pos(node?.range?.[0] ?? 0);
  }

  problem(at: Pos, message: string): void {
    this.problems.push({ file: this.file, ...at, message });
  }

  private text(s: string, at: Pos): string {
    return this.opts.transform ? this.opts.transform(s, at, (m) => this.problem(at, m)) : s;
  }

  build(raw: unknown): LocatedNode {
    let node = raw as Node | null;
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) {
        const at = this.pos(node);
        this.problem(at, `alias *${node.source} names no anchor`);
        return { at, value: null };
      }
      node = target as Node;
    }
    if (node === null || node === undefined) return { at: { line: 1, col: 1 }, value: null };
    const cached = this.built.get(node);
    if (cached) return cached;
    if (this.building.has(node)) {
      const at = this.pos(node);
      this.problem(at, 'an alias refers to a collection that contains it (a cycle)');
      return { at, value: null };
    }
    this.building.add(node);
    const out = this.buildNode(node);
    this.building.delete(node);
    this.built.set(node, out);
    return out;
  }

  private buildNode(node: Node): LocatedNode {
    const at = this.pos(node);
    if (isScalar(node)) {
      const v = node.value;
      return { at, value: typeof v === 'string' ? this.text(v, at) : v };
    }
    if (isSeq(node)) {
      const seq = node.items.map((item) => this.build(item));
      return { at, value: seq.map((n) => n.value), seq };
    }
    if (isMap(node)) {
      const own = new Map<string, LocatedEntry>();
      const merged: LocatedNode[] = [];
      for (const pair of node.items) {
        if (isMergeKey(pair.key)) {
          merged.push(this.build(pair.value));
          continue;
        }
        if (!isScalar(pair.key)) {
          this.problem(this.pos(pair.key as Node), 'a map key must be a plain value');
          continue;
        }
        const keyAt = this.pos(pair.key);
        const key = this.text(String(pair.key.value), keyAt);
        if (own.has(key)) {
          this.problem(keyAt, `duplicate key "${key}" (first at line ${own.get(key)!.keyAt.line})`);
          continue;
        }
        own.set(key, { keyAt, node: this.build(pair.value) });
      }
      const map = new Map(own);
      // `<<: *a` or `<<: [*a, *b]`: keys the map does not set itself, earlier sources first.
      for (const source of merged.flatMap((m) => m.seq ?? [m])) {
        if (!source.map) {
          this.problem(source.at, 'a merge key (<<) must name a map or a list of maps');
          continue;
        }
        for (const [k, e] of source.map) if (!map.has(k)) map.set(k, e);
      }
      const value: Record<string, unknown> = {};
      for (const [k, e] of map) value[k] = e.node.value;
      return { at, value, map };
    }
    this.problem(at, 'unsupported YAML node');
    return { at, value: null };
  }
}

/** Parses YAML text into a located tree; syntax errors and unusable nodes are problems, never thrown. */
export function parseLocatedYaml(text: string, file: string, opts: LocatedOptions = {}): LocatedDocument {
  const lines = new LineIndex(text);
  const doc = parseDocument(text, { version: '1.1', prettyErrors: false, uniqueKeys: false });
  const syntax = [...doc.errors].map((e) => ({ file, ...lines.pos(e.pos[0]), message: e.message }));
  if (syntax.length > 0) return { root: undefined, problems: syntax };
  const b = new Builder(doc, lines, file, opts);
  const root = doc.contents === null ? undefined : b.build(doc.contents);
  return { root, problems: b.problems };
}

/** The entry under `key` of a map node, if the node is a map and has it. */
export function entry(node: LocatedNode | undefined, key: string): LocatedEntry | undefined {
  return node?.map?.get(key);
}

/** The value node under `key`, if any. */
export function child(node: LocatedNode | undefined, key: string): LocatedNode | undefined {
  return node?.map?.get(key)?.node;
}
