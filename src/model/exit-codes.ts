// Exit codes are the operator's contract (ARCHITECTURE.md §12): 0 done, 1 failed, 2 usage, 3 refused by a safety rule.
// Pure, and shared by both programs (poolctl and poold), so it lives with the error types it maps.
import { PooldError, SafetyRefusal, UsageError } from './errors.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof SafetyRefusal) return EXIT.refused;
  // Everything else, a selector that matched nothing included, is a failure.
  return EXIT.failed;
}

/** One line per problem, prefixed with the program name; the error's own text says what and how to fix. */
export function describeError(err: unknown): string {
  if (err instanceof PooldError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
