// What a PromQL expression refers to: metric names (with the label names matched on each) and the
// label names of by/without/on/ignoring/group_* clauses. A small scanner, not a parser: enough to
// check that alert rules and dashboards use only series the code exports. promtool checks syntax.

export interface MetricRef {
  name: string;
  /** Label names in the selector's {...}. */
  labels: string[];
}

export interface PromqlRefs {
  metrics: MetricRef[];
  /** Label names in by (...), without (...), on (...), ignoring (...), group_left/right (...). */
  groupingLabels: string[];
}

const CLAUSES = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
// Aggregations may put their clause before the parenthesis (`sum by (dc) (x)`), so they are keywords.
const AGGREGATIONS = ['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio'];
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', ...CLAUSES, ...AGGREGATIONS]);
const IDENT = /[A-Za-z_:][A-Za-z0-9_:]*/y;

function labelNames(inner: string): string[] {
  // `name op "value"` pairs; values are already blanked, so names are the identifiers before an operator.
  return [...inner.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]);
}

/** Index of the bracket closing the one at `open`. */
function closing(text: string, open: number, pair: string): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === pair[0]) depth++;
    else if (text[i] === pair[1] && --depth === 0) return i;
  }
  throw new Error(`unbalanced ${pair} at ${open} in: ${text}`);
}

export function promqlRefs(expr: string): PromqlRefs {
  // Blank string literals (matcher values, Grafana variables inside them) keeping their length.
  const text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, (s) => `"${' '.repeat(s.length - 2)}"`);
  const metrics: MetricRef[] = [];
  const groupingLabels: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '[') { i = closing(text, i, '[]') + 1; continue; } // range or subquery duration
    if (c === '{') { // a selector without a name: {__name__=...}; not used here
      throw new Error(`selector without a metric name in: ${expr}`);
    }
    if (/[0-9.]/.test(c)) { // numbers, including 1e6 and 0x..
      const m = /[0-9.]+(?:e[+-]?[0-9]+)?|0x[0-9a-f]+/iy;
      m.lastIndex = i;
      i = m.exec(text) ? m.lastIndex : i + 1;
      continue;
    }
    IDENT.lastIndex = i;
    const id = IDENT.exec(text);
    if (!id || c === '$') { i++; continue; }
    const word = id[0];
    let j = IDENT.lastIndex;
    while (text[j] === ' ' || text[j] === '\n') j++;
    if (CLAUSES.has(word) && text[j] === '(') {
      const end = closing(text, j, '()');
      groupingLabels.push(...text.slice(j + 1, end).split(',').map((s) => s.trim()).filter(Boolean));
      i = end + 1;
      continue;
    }
    if (KEYWORDS.has(word) || text[j] === '(') { i = IDENT.lastIndex; continue; } // keyword or function
    if (text[j] === '{') {
      const end = closing(text, j, '{}');
      metrics.push({ name: word, labels: labelNames(text.slice(j + 1, end)) });
      i = end + 1;
    } else {
      metrics.push({ name: word, labels: [] });
      i = IDENT.lastIndex;
    }
  }
  return { metrics, groupingLabels };
}

/** Grafana's `label_values(selector, label)` variable query, as the selector's refs plus the label. */
export function labelValuesRefs(query: string): PromqlRefs {
  const m = /^\s*label_values\(\s*(.+?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/s.exec(query);
  if (!m) throw new Error(`not a label_values(selector, label) query: ${query}`);
  const r = promqlRefs(m[1]);
  return { metrics: r.metrics.map((x) => ({ ...x, labels: [...x.labels, m[2]] })), groupingLabels: r.groupingLabels };
}
