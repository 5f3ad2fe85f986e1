// Typed errors of the LVS layer. Each names the command or line that failed so an operator can
// reproduce it by hand with ipvsadm.
import { PooldError } from '../model/errors.js';

/** Output of `ipvsadm -Ln` / `ipvsadm -S -n` that we cannot read. */
export class IpvsParseError extends PooldError {
  constructor(message: string, readonly line: number, readonly text: string) {
    super(`ipvsadm output line ${line}: ${message}: ${JSON.stringify(text)}`, { line, text });
  }
}

/** A desired table we refuse to build (bad address, weight out of range...). */
export class LvsInputError extends PooldError {}

/**
 * ipvsadm exited non-zero or complained on stderr. `failedCommand` is the first restore line whose
 * effect is missing from the table read back afterwards (ipvsadm itself does not say which line failed).
 */
export class IpvsadmError extends PooldError {
  constructor(
    message: string,
    readonly detail: {
      argv: string[];
      exitCode: number | null;
      signal: string | null;
      stderr: string;
      failedCommand?: string;
      commands?: string[];
    },
    options?: { cause?: unknown },
  ) {
    super(message, { ...detail }, options);
  }
}

/** The table read back after an apply does not match what we asked for. */
export class LvsVerifyError extends PooldError {
  constructor(readonly differences: string[]) {
    super(`IPVS table does not match the desired state after apply: ${differences.join('; ')}`, { differences });
  }
}
