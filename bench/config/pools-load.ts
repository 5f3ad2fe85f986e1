// pools/*.yaml load time: the first call (which compiles the JSON Schema) and steady-state parses of
// one file with N servers. Shows the loader stays linear in the number of servers (yaml's own
// uniqueKeys check is quadratic, which is why duplicate keys are found by the loader).
//
//   npm run build && node dist/bench/config/pools-load.js [--servers 10000] [--runs 5] [--sample pools/eqiad.yaml]
// (run from the repository root)
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { parsePoolsText } from '../../src/config/pools/index.js';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '5' },
    sample: { type: 'string', default: 'pools/eqiad.yaml' },
  },
});
const servers = Number(values.servers);
const runs = Number(values.runs);

function bigPool(n: number): string {
  const lines = [
    'dc: eqiad',
    'services:',
    '  big:',
    '    cluster: bench',
    '    lvs: { ip: 10.2.2.1, port: 80 }',
    '    checks: [{ kind: http, path: /_info }]',
    '    servers:',
  ];
  for (let i = 0; i < n; i++) {
    lines.push(`      b${i}.eqiad.wmnet: { weight: 10, address: 127.${Math.floor(i / 62_500) + 1}.${Math.floor(i / 250) % 250}.${(i % 250) + 1} }`);
  }
  return lines.join('\n') + '\n';
}

function ms(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

const sample = readFileSync(values.sample, 'utf8');
const first = ms(() => parsePoolsText(sample, 'eqiad.yaml'));
const sampleRuns = Array.from({ length: 20 }, () => ms(() => parsePoolsText(sample, 'eqiad.yaml'))).sort((a, b) => a - b);
const text = bigPool(servers);
const bigRuns = Array.from({ length: runs }, () =>
  ms(() => {
    const r = parsePoolsText(text, 'big.yaml');
    if (r.problems.length) throw new Error(`unexpected problems: ${JSON.stringify(r.problems.slice(0, 3))}`);
  }),
).sort((a, b) => a - b);
const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
console.log(
  JSON.stringify({
    firstCallMs: Math.round(first),
    sampleMedianMs: +median(sampleRuns).toFixed(1),
    servers,
    bigMedianMs: Math.round(median(bigRuns)),
    perServerUs: +((median(bigRuns) * 1000) / servers).toFixed(1),
  }),
);
