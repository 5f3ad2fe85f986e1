// Property: whatever pools/ says (within the schema), the configs poold generates from it read back
// with no drift; and changing the check path of any service in pools/ is always reported.
import t from 'tap';
import fc from 'fast-check';
import type { ServiceDef } from '../../src/model/types.js';
import { pybalConfigUrl, renderPybal } from '../../src/config/pybal-render.js';
import { renderIcinga2 } from '../../src/monitoring/icinga2.js';
import { renderNagios } from '../../src/monitoring/nagios.js';
import { detectDrift } from '../../src/monitoring/drift.js';
import { cxserver, httpCheck } from './fixtures.js';

const POOLD = 'http://poold.svc.eqiad.wmnet:9090';
const pathChar = fc.constantFrom(...'abcXYZ019_-.~/%?=&;#\'"!$:@'.split(''));
const path = fc.string({ unit: pathChar, maxLength: 12 }).map((s) => `/${s}`);
const host = fc.constantFrom('cx.svc.eqiad.wmnet', 'a-b.example.org', 'restbase.svc.eqiad.wmnet');

const service = fc
  .record({
    name: fc.constantFrom('cxserver', 'parsoid', 'restbase', 'mobileapps', 'ores'),
    urls: fc.array(path, { minLength: 1, maxLength: 3 }),
    host,
    status: fc.integer({ min: 200, max: 599 }),
    timeoutS: fc.integer({ min: 1, max: 30 }),
    threshold: fc.constantFrom(0, 0.25, 0.5, 0.6, 1),
    servers: fc.uniqueArray(fc.integer({ min: 1000, max: 1999 }), { minLength: 1, maxLength: 5 }),
    port: fc.integer({ min: 1, max: 65535 }),
  })
  .map(
    (r): ServiceDef =>
      cxserver({
        name: r.name,
        catalog: r.name,
        pool: { cluster: `c-${r.name}`, service: r.name },
        lvs: { ip: '10.2.2.18', port: r.port, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
        depoolThreshold: r.threshold,
        checks: [httpCheck({ urls: r.urls, host: r.host, timeoutMs: r.timeoutS * 1000, expect: { status: [{ from: r.status, to: r.status }] }, checkAll: r.urls.length > 1 })],
        servers: Object.fromEntries(r.servers.map((n) => [`h${n}.eqiad.wmnet`, { weight: 10 }])),
      }),
  );
const services = fc.uniqueArray(service, { minLength: 1, maxLength: 4, selector: (s) => s.name });

function serverLists(svcs: ServiceDef[]) {
  return Object.fromEntries(
    svcs.map((s) => [pybalConfigUrl(POOLD, s), Object.fromEntries(Object.entries(s.servers).map(([h, v], i) => [h, { weight: v.weight, enabled: true, line: i + 1 }]))]),
  );
}

t.test('generated pybal.conf, Icinga 2 and Nagios configs never drift from what they were generated from', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
    fc.property(services, (svcs) => {
      const pybal = { text: renderPybal(svcs, POOLD).text, file: 'p.conf', serverLists: serverLists(svcs), pooldUrl: POOLD };
      for (const [text, file] of [[renderIcinga2(svcs, { pooldUrl: POOLD }), 'i.conf'], [renderNagios(svcs, { pooldUrl: POOLD }), 'n.cfg']] as const) {
        const r = detectDrift({ services: svcs, pybal, icinga: { text, file } });
        if (r.items.length !== 0) throw new Error(`unexpected drift: ${JSON.stringify(r.items)}`);
        if (r.warnings.length !== 0) throw new Error(`unexpected warnings: ${JSON.stringify(r.warnings)}`);
      }
    }),
    { numRuns: 150 },
    ),
  '150 random pool sets round-trip without drift');
});

t.test('a changed check path in pools/ is always reported on both sides', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
    fc.property(services, fc.nat(), path, (svcs, pick, newPath) => {
      const i = pick % svcs.length;
      const check = svcs[i].checks[0] as ReturnType<typeof httpCheck>;
      fc.pre(!check.urls.includes(newPath));
      const pybal = { text: renderPybal(svcs, POOLD).text, file: 'p.conf', serverLists: serverLists(svcs) };
      const icinga = { text: renderIcinga2(svcs, { pooldUrl: POOLD }), file: 'i.conf' };
      const changed = svcs.map((s, j) => (j === i ? { ...s, checks: [{ ...check, urls: [newPath] }] } : s));
      const r = detectDrift({ services: changed, pybal, icinga });
      const fields = r.items.filter((x) => x.service === `eqiad/${svcs[i].name}` && x.field === 'check path');
      if (!fields.some((x) => x.source === 'pybal' && x.expected === newPath)) throw new Error(`pybal path drift missed: ${JSON.stringify(r.items)}`);
      if (!fields.some((x) => x.source === 'icinga' && x.expected === newPath)) throw new Error(`icinga path drift missed: ${JSON.stringify(r.items)}`);
    }),
    { numRuns: 150 },
    ),
  'every changed path is reported by both comparisons');
});
