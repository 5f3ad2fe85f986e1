// Leader elections are per dc scope (`--dc`): every poold with the same scope campaigns for the same
// key, `<poold>/election/leader-<scope>`, where scope is `all` or the sorted dcs joined by `+`. Two
// instances with overlapping but different scopes (say `--dc eqiad` and no --dc) win different
// elections and would both coordinate eqiad's pools, each publishing its own state. That is a
// deployment mistake; poold cannot merge the two elections safely, so it makes the overlap loud:
// every pool both leaders would coordinate gets a CRITICAL cause in /alerts while it lasts.

const PREFIX = 'leader-';

/** The election scope name of an instance's dcs (undefined or empty: all). */
export function scopeName(dcs: readonly string[] | undefined): string {
  return dcs && dcs.length > 0 ? [...dcs].sort().join('+') : 'all';
}

/** The election key name for a scope. */
export function electionName(scope: string): string {
  return `${PREFIX}${scope}`;
}

/** The scope of an election key name, or undefined for keys that are not leader elections. */
export function scopeOfElection(name: string): string | undefined {
  return name.startsWith(PREFIX) && name.length > PREFIX.length ? name.slice(PREFIX.length) : undefined;
}

function covers(scope: string, dc: string): boolean {
  return scope === 'all' || scope.split('+').includes(dc);
}

/** Other live scopes (not ours) whose leader would also coordinate pools of `dc`, sorted. */
export function overlappingScopes(dc: string, ours: string, live: Iterable<string>): string[] {
  return [...new Set(live)].filter((s) => s !== ours && covers(s, dc)).sort();
}

/** Whether two scopes share a dc (so their leaders would both coordinate some pools). */
export function scopesOverlap(a: string, b: string): boolean {
  if (a === 'all' || b === 'all') return true;
  const dcs = new Set(a.split('+'));
  return b.split('+').some((dc) => dcs.has(dc));
}
