// A write to more than one object needs --yes, or an explicit "yes" typed on a terminal.
import { createInterface } from 'node:readline/promises';
import { SafetyRefusal } from '../model/errors.js';

export async function confirmMany(what: string[], opts: { yes?: unknown }): Promise<void> {
  if (what.length <= 1 || opts.yes === true) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new SafetyRefusal(`refusing to change ${what.length} objects without --yes:\n  ${what.join('\n  ')}\nRe-run with --yes to confirm.`, { count: what.length });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`About to change ${what.length} objects:\n  ${what.join('\n  ')}\nType "yes" to continue: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new SafetyRefusal('not confirmed; nothing changed');
  } finally {
    rl.close();
  }
}
