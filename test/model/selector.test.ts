import t from 'tap';
import fc from 'fast-check';
import { matchHostName, parseSelector, selectorMatches } from '../../src/model/selector.js';
import { UsageError } from '../../src/model/errors.js';

const key = (host: string, service = 'cxserver') => ({ dc: 'eqiad', cluster: 'sca', service, host });

t.test('regexes are anchored as in conftool', async (t) => {
  const sel = parseSelector('dc=eqiad,name=sca100[12].*');
  t.ok(selectorMatches(sel, key('sca1001.eqiad.wmnet')));
  t.ok(selectorMatches(sel, key('sca1002.eqiad.wmnet')));
  t.notOk(selectorMatches(sel, key('sca1003.eqiad.wmnet')));
  // Unanchored matching would accept a substring; conftool does not.
  t.notOk(selectorMatches(parseSelector('name=sca1001'), key('sca1001.eqiad.wmnet')));
  t.notOk(selectorMatches(parseSelector('dc=eqi'), key('x')));
  t.ok(selectorMatches(parseSelector('service=cx.*,cluster=sca'), key('x')));
});

t.test('a regex may contain commas', async (t) => {
  const sel = parseSelector('name=sca10{2,3}1.eqiad.wmnet');
  t.ok(selectorMatches(sel, key('sca1001.eqiad.wmnet')));
});

t.test('bad selectors are usage errors naming the problem', async (t) => {
  t.throws(() => parseSelector(''), UsageError);
  t.throws(() => parseSelector('host=foo'), { message: /unknown selector tag 'host'/ });
  t.throws(() => parseSelector('name=('), { message: /bad regex for 'name'/ });
  t.throws(() => parseSelector('eqiad'), { message: /expected tag=regex/ });
  t.throws(() => parseSelector('dc=a,dc=b'), { message: /given twice/ });
});

t.test('fuzz: parseSelector either parses or throws UsageError', async (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => {
      try {
        parseSelector(s);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass('no crash other than UsageError');
});

t.test('short host names match the first label when unambiguous', async (t) => {
  const hosts = ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet', 'sca2001.codfw.wmnet', 'mw1.eqiad.wmnet', 'mw1.codfw.wmnet'];
  t.same(matchHostName('sca1001', hosts), { kind: 'found', hosts: ['sca1001.eqiad.wmnet'] });
  t.same(matchHostName('sca1001.eqiad.wmnet', hosts), { kind: 'found', hosts: ['sca1001.eqiad.wmnet'] });
  t.same(matchHostName('mw1', hosts), { kind: 'ambiguous', candidates: ['mw1.codfw.wmnet', 'mw1.eqiad.wmnet'] });
  t.same(matchHostName('sca9', hosts), { kind: 'none' });
  t.same(matchHostName('sca1001.codfw.wmnet', hosts), { kind: 'none' });
});
