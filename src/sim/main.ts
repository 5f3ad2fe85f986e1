// CLI: node dist/src/sim/main.js --spec backends.json [--control 127.0.0.1:0]
// Prints one JSON line when ready: {"ready":true,"backends":N,"control":"127.0.0.1:PORT"}, so scripts
// can wait for it and learn the control port. SIGINT/SIGTERM stop it cleanly.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { errorMessage, UsageError } from '../model/errors.js';
import { startControl } from './control.js';
import { startSimulator } from './simulator.js';
import { expandSpec } from './spec.js';

const USAGE = 'usage: poold-sim --spec FILE.json [--control HOST:PORT]';

async function main(): Promise<void> {
  let values: { spec?: string; control?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { spec: { type: 'string' }, control: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.spec) throw new UsageError(`--spec is required\n${USAGE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(values.spec, 'utf8'));
  } catch (err) {
    throw new UsageError(`${values.spec}: ${(err as Error).message}`);
  }
  const backends = expandSpec(raw, values.spec);
  const sim = await startSimulator({ backends });
  let controlText: string | null = null;
  let control: Awaited<ReturnType<typeof startControl>> | undefined;
  if (values.control) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(values.control);
    if (!m) throw new UsageError(`--control: expected HOST:PORT, got ${JSON.stringify(values.control)}`);
    control = await startControl(sim, m[1].replace(/^\[|\]$/g, ''), Number(m[2]));
    controlText = `${control.address}:${control.port}`;
  }
  const stop = async (): Promise<void> => {
    await control?.close();
    await sim.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  process.stdout.write(`${JSON.stringify({ ready: true, backends: sim.totals().backends, control: controlText })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`poold-sim: ${errorMessage(err)}\n`);
  // Usage problems exit 2, everything else 1 (ARCHITECTURE.md §12's convention).
  process.exit(err instanceof UsageError ? 2 : 1);
});
