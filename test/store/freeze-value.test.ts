// The freeze value (issue 14) is decoded in one place, store/freeze.ts: a corrupt value is an
// InvalidStoredValueError naming the key and saying what is wrong and how to fix it.
import t from 'tap';
import { decodeFreeze } from '../../src/store/decode.js';
import { encodeFreeze } from '../../src/store/freeze.js';
import { InvalidStoredValueError } from '../../src/model/errors.js';

const KEY = '/poold/v1/freeze/eqiad/foo_80';
const good = { since: 1000, until: 61_000, actor: 'alice', reason: 'check page slow' };

t.test('round trip', async (t) => {
  t.same(decodeFreeze(KEY, encodeFreeze(good)), good);
});

t.test('corrupt values: typed error naming the key and the problem', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['{not json', /not valid JSON/],
    ['[1,2]', /not a JSON object/],
    [JSON.stringify({ ...good, until: 'later' }), /"until" must be a time in epoch milliseconds/],
    [JSON.stringify({ ...good, actor: '' }), /"actor" must be a non-empty string/],
    [JSON.stringify({ ...good, reason: undefined }), /"reason" must be a non-empty string/],
    [JSON.stringify({ ...good, until: 500 }), /"until" is before "since"/],
  ];
  for (const [raw, msg] of cases) {
    const err = (() => { try { decodeFreeze(KEY, raw); return undefined; } catch (e) { return e; } })();
    t.type(err, InvalidStoredValueError, raw);
    t.match((err as Error).message, msg);
    t.match((err as Error).message, KEY);
  }
});
