/**
 * Default check names: the kind (`http`) when the service has one check of that kind, else `<kind>-<n>`
 * numbered 1-based among the checks of that kind (named ones included, so adding a name to one check
 * does not renumber the others).
 */
export function checkNames(checks: ReadonlyArray<{ kind?: unknown; name?: unknown }>): string[] {
  const perKind = new Map<string, number>();
  for (const c of checks) perKind.set(String(c.kind), (perKind.get(String(c.kind)) ?? 0) + 1);
  const seen = new Map<string, number>();
  return checks.map((c) => {
    const kind = String(c.kind);
    const n = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, n);
    if (typeof c.name === 'string') return c.name;
    return perKind.get(kind) === 1 ? kind : `${kind}-${n}`;
  });
}
