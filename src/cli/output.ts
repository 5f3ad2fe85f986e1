// Output for humans on a terminal and for machines with --json. Everything that is not the result
// (progress, warnings) goes to stderr so `--json` output stays parseable.
export interface Output {
  json: boolean;
  /** The command's result: JSON with --json, else the human lines. */
  result(human: string | string[], machine: unknown): void;
  info(line: string): void;
  warn(line: string): void;
}

export function makeOutput(json: boolean): Output {
  return {
    json,
    result(human, machine) {
      if (json) process.stdout.write(`${JSON.stringify(machine, null, 2)}\n`);
      else {
        const lines = Array.isArray(human) ? human : [human];
        if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      }
    },
    info(line) {
      process.stderr.write(`${line}\n`);
    },
    warn(line) {
      process.stderr.write(`warning: ${line}\n`);
    },
  };
}

/** A fixed-width table; columns sized to their longest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [fmt(header), ...rows.map(fmt)];
}
