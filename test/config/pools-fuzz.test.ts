// Whatever text comes in, the loader returns located problems; it never throws.
// Run counts are kept small (a sample file takes ~15 ms to parse); each run draws a new seed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { parsePoolsText, type PoolsLoadResult } from '../../src/config/pools/index.js';

const FILE = 'pools/fuzz.yaml';
const SAMPLE = readFileSync(fileURLToPath(new URL('../../pools/eqiad.yaml', import.meta.url)), 'utf8');

/** The contract: no throw; every problem points inside the text; no problems means something loaded. */
function wellBehaved(text: string): PoolsLoadResult {
  const r = parsePoolsText(text, FILE);
  const lines = text.split(/\r\n|\r|\n/);
  for (const p of r.problems) {
    if (p.file !== FILE || p.message.length === 0) throw new Error(`bad problem ${JSON.stringify(p)}`);
    if (!(p.line >= 1 && p.line <= lines.length + 1)) throw new Error(`line out of range ${JSON.stringify(p)}`);
    if (!(p.col >= 1 && p.col <= (lines[p.line - 1]?.length ?? 0) + 1)) throw new Error(`col out of range ${JSON.stringify(p)}`);
  }
  if (r.problems.length === 0 && r.services.length === 0) throw new Error('no problems but nothing loaded');
  // Services must be storable as JSON (they go to etcd) and survive the round trip unchanged.
  const json = JSON.stringify(r.services);
  if (JSON.stringify(JSON.parse(json)) !== json) throw new Error('services not JSON-stable');
  return r;
}

const YAMLISH = fc.constantFrom(
  ...': - { } [ ] , & * ! # " \' | > ? % @ ` \t \n\n 0 1 -1 .5 1e9 .nan .inf ~ null true no 5s 0s 1m30s 200-299 '.split(' '),
  ' ',
  '\n',
  '  ',
  'dc',
  'services',
  'servers',
  'weight',
  'checks',
  'kind',
  'http',
  'command',
  'argv',
  'urls',
  'path',
  'expect',
  'status',
  'regex',
  '(',
  '<<',
  '!!binary',
  '!!str',
  '&a',
  '*a',
);

t.test('random text', async () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => void wellBehaved(s)), { numRuns: 200 });
});

t.test('random YAML-ish token soup', async () => {
  fc.assert(fc.property(fc.array(YAMLISH, { maxLength: 60 }), (tokens) => void wellBehaved(tokens.join(''))), { numRuns: 400 });
});

t.test('mutations of the real sample', async () => {
  const lines = SAMPLE.split('\n');
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(lines.length - 1) }),
    fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(lines.length - 1) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(SAMPLE.length), text: fc.array(YAMLISH, { maxLength: 4 }) }),
  );
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ops) => {
      let text = SAMPLE;
      for (const m of ops) {
        const ls = text.split('\n');
        const at = m.at % Math.max(1, m.op === 'insert' ? text.length : ls.length);
        if (m.op === 'delete') ls.splice(at, 1);
        if (m.op === 'duplicate') ls.splice(at, 0, ls[at] ?? '');
        text = m.op === 'insert' ? text.slice(0, at) + m.text.join('') + text.slice(at) : ls.join('\n');
      }
      wellBehaved(text);
    }),
    { numRuns: 120 },
  );
});

t.test('any value in any place of a valid document', async () => {
  const doc = parse(SAMPLE) as Record<string, unknown>;
  // Every path in the sample, so values land where the semantic rules look.
  const paths: string[][] = [];
  const collect = (v: unknown, p: string[]) => {
    paths.push(p);
    if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) collect(c, [...p, k]);
  };
  collect(doc, []);
  fc.assert(
    fc.property(fc.nat(paths.length - 1), fc.anything({ maxDepth: 2 }), (i, value) => {
      const copy = structuredClone(doc);
      const path = paths[i];
      if (path.length === 0) return void wellBehaved(stringify(value ?? null));
      let node = copy as Record<string, unknown>;
      for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
      node[path[path.length - 1]] = value;
      let text: string;
      try {
        text = stringify(copy);
      } catch {
        return; // fast-check can build values yaml cannot write (e.g. symbols as keys); nothing to load
      }
      wellBehaved(text);
    }),
    { numRuns: 150 },
  );
});
