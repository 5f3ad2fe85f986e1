// Shared by the pools loader tests: problems of one in-memory file as "line:col: message" strings.
import { formatProblem } from '../../src/model/errors.js';
import { parsePoolsText } from '../../src/config/pools/index.js';

export const FILE = 'pools/test.yaml';

/** Problems of one file, without the file name prefix (every test file is FILE). */
export function problemsOf(text: string): string[] {
  const { problems } = parsePoolsText(text, FILE);
  for (const p of problems) if (p.file !== FILE) throw new Error(`unexpected file in ${formatProblem(p)}`);
  return problems.map((p) => formatProblem(p).slice(FILE.length + 1));
}

/** Removes the first newline of a template literal, so line 1 is the first written line. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  return String.raw({ raw: strings }, ...values).replace(/^\n/, '');
}
