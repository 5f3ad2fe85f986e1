// The depool-threshold arithmetic, shared by the coordinator, poolctl's guard and /alerts, so that all
// three agree on where the line is.

/**
 * How many servers must stay up (and enabled) for `total` servers at `threshold`.
 * PyBal compares `count >= total * threshold` with floats; for an integer count that is the same as
 * `count >= ceil(total * threshold)`, including IEEE rounding quirks (100 × 0.07 = 7.000000000000001 → 8, as in Python),
 * so poold and PyBal draw the line in the same place.
 */
export function requiredCount(total: number, threshold: number): number {
  return Math.ceil(total * threshold);
}

/** A threshold is a fraction in [0, 1]. Returns a problem description, or null when valid. */
export function thresholdProblem(threshold: unknown): string | null {
  if (
    (
      // Stryker disable next-line ConditionalExpression: the typeof operand becoming false is equivalent, it only narrows the type for TypeScript and Number.isFinite rejects every non-number
      typeof threshold !== 'number'
    ) ||
    !Number.isFinite(threshold)
  ) {
    return `depool threshold must be a number in [0, 1], got ${String(threshold)}`;
  }
  if (threshold < 0 || threshold > 1) return `depool threshold must be in [0, 1], got ${threshold}`;
  return null;
}

/**
 * PyBal's /alerts "too small" test: more than one server, and depooling one would already break the
 * threshold (`total < total * threshold + 1`).
 */
export function tooSmallToDepool(total: number, threshold: number): boolean {
  return total > 1 && total < total * threshold + 1;
}
