// Typed errors. Each carries enough context to tell the operator what, where and how to fix it.
// poolctl maps them to exit codes (ARCHITECTURE.md §12): usage 2, safety refusal 3, everything else 1.

export class PooldError extends Error {
  readonly context: Record<string, unknown>;
  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }
}

/** Bad command-line arguments or API parameters. */
export class UsageError extends PooldError {}

/** A safety rule refused the operation (threshold guard, multi-object write without --yes). */
export class SafetyRefusal extends PooldError {}

/** A selector, pool or host matched nothing (or was ambiguous). */
export class NotFoundError extends PooldError {}

/** One problem in an input file, located as file:line:col. */
export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** Every problem found in the inputs, not just the first. */
export class ConfigError extends PooldError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'), { count: problems.length });
    this.problems = problems;
  }
}

/** A value in etcd that poold cannot use (written by another tool, or corrupted). */
export class InvalidStoredValueError extends PooldError {}

/** etcd unreachable, permission denied, or a transaction that kept conflicting. */
export class StoreError extends PooldError {}

/** The text of anything thrown: an Error's message, or the value itself. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
