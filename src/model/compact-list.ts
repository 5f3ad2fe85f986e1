// Error messages name at most a few items, then count the rest: a write over 500 hosts that fails
// must say which, but a 500-key line helps nobody (the full lists go to the error's context and to
// poolctl --json). One helper, so every message follows the same rule.

/** "a, b, c and 397 more"; every item when there are at most `max + 1` (no "and 1 more"). */
export function compactList(items: readonly string[], max = 3): string {
  if (items.length === 0) return '(none)';
  if (items.length <= max + 1) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
