// "did you mean" for misspelt keys and enum values.

function editDistance(a: string, b: string): number {
  // Optimal string alignment distance: a transposition ("tiemout") counts as one edit.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Folds case and separators, so `depoolThreshold` and `Depool-Threshold` both find `depool_threshold`. */
function fold(s: string): string {
  return s.toLowerCase().replace(/[-_\s]/g, '');
}

/** The closest candidate, or undefined when nothing is close enough to be a plausible typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  const w = fold(word);
  for (const c of candidates) {
    const f = fold(c);
    // A truncated or extended word ("warning" for "warn") is a plausible typo whatever its length.
    const prefix = Math.min(f.length, w.length) >= 3 && (f.startsWith(w) || w.startsWith(f));
    const dist = f === w ? 0 : prefix ? 1 : editDistance(w, f);
    if (dist < bestDist) {
      best = c;
      bestDist = dist;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(w.length, 3) / 3));
  return bestDist <= limit ? best : undefined;
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : `; did you mean "${c}"?`;
}
