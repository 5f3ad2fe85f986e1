// Maps a path in the parsed data (as ajv or our own checks name it) back to a YAML node, so every
// problem can be reported as file:line:col. Aliases resolve to their anchor: that is where the text is.
import { isAlias, isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap } from 'yaml';

export type DataPath = ReadonlyArray<string | number>;

/** 1-based position. */
export interface Pos {
  line: number;
  col: number;
}

/** Where to point: at the value itself, or at the key that names it (unknown keys, "not both" rules). */
export type Target = 'value' | 'key';

function resolve(doc: Document, node: unknown): unknown {
  // Bounded: an alias chain cannot be longer than the number of anchors, and yaml rejects cycles.
  for (let i = 0; i < 100 && isAlias(node); i++) node = node.resolve(doc);
  return node;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

interface Step {
  /** The node the path reaches (undefined when the path goes beyond what exists). */
  node?: Node;
  /** The key node naming it, when it is a map value. */
  key?: Node;
  /** The closest existing ancestor's key or node, for paths that run past the data. */
  fallback: Node | undefined;
}

/** Per-map key index, so locating every one of 10k servers stays linear. */
const keyIndex = new WeakMap<object, Map<string, Pair>>();

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  let index = keyIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) {
      const k = keyText(p.key);
      // The first copy wins, as in validation (duplicates are reported separately).
      if (k !== undefined && !index.has(k)) index.set(k, p);
    }
    keyIndex.set(map, index);
  }
  return index.get(key);
}

function walk(doc: Document, path: DataPath): Step {
  let node = resolve(doc, doc.contents) as Node | undefined;
  let key: Node | undefined;
  let fallback: Node | undefined = node;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = pairOf(node, String(seg));
      if (!pair) return { fallback: key ?? node };
      key = pair.key as Node;
      fallback = key;
      node = resolve(doc, pair.value) as Node | undefined;
      if (!node) return { key, fallback: key };
    } else if (isSeq(node)) {
      const item = resolve(doc, node.items[Number(seg)]) as Node | undefined;
      if (!item) return { fallback: node };
      key = undefined;
      node = item;
      fallback = item;
    } else {
      return { fallback: key ?? node };
    }
  }
  return { node, key, fallback };
}

function startOf(node: Node | undefined): number {
  return node?.range?.[0] ?? 0;
}

/** The offset to report for `path`: the key (or value) it names, or the nearest ancestor that exists. */
export function locateOffset(doc: Document, path: DataPath, target: Target = 'value'): number {
  const step = walk(doc, path);
  if (target === 'key' && step.key) return startOf(step.key);
  if (step.node) {
    // A key with an empty value (`servers:`) has a zero-width null scalar after the colon; the key reads better.
    if (isScalar(step.node) && step.node.value === null && step.key && step.node.range?.[0] === step.node.range?.[1]) {
      return startOf(step.key);
    }
    return startOf(step.node);
  }
  return startOf(step.fallback);
}

export function locate(doc: Document, lines: LineIndex, path: DataPath, target: Target = 'value'): Pos {
  return lines.pos(locateOffset(doc, path, target));
}

/**
 * Offset → 1-based line:col. Computed from the text rather than yaml's LineCounter, which misses the
 * line breaks inside an unterminated quoted scalar and then reports columns past the end of the line.
 * Line breaks are CRLF, CR or LF, as YAML and editors count them.
 */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(private readonly text: string) {
    const re = /\r\n|\r|\n/g;
    for (let m = re.exec(text); m; m = re.exec(text)) this.starts.push(m.index + m[0].length);
  }

  pos(offset: number): Pos {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: o - this.starts[lo] + 1 };
  }
}
