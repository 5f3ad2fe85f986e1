// The one rule for lists in error messages: a few items, then a count.
import t from 'tap';
import { compactList } from '../../src/model/compact-list.js';

t.test('names at most three, then counts the rest; never "and 1 more"', (t) => {
  const hosts = Array.from({ length: 400 }, (_, i) => `sca${1001 + i}`);
  t.equal(compactList(hosts), 'sca1001, sca1002, sca1003 and 397 more');
  t.equal(compactList(hosts.slice(0, 4)), 'sca1001, sca1002, sca1003, sca1004');
  t.equal(compactList(hosts.slice(0, 5)), 'sca1001, sca1002, sca1003 and 2 more');
  t.equal(compactList(['a']), 'a');
  t.equal(compactList([]), '(none)');
  t.equal(compactList(hosts, 1), 'sca1001 and 399 more');
  t.end();
});
