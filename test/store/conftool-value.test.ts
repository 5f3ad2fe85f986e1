// conftool's value format: strict reading, and writing byte-for-byte what conftool (Python json.dumps) writes.
import t from 'tap';
import { InvalidStoredValueError } from '../../src/model/errors.js';
import { changedFields, mergeConftoolValue, parseConftoolValue, pythonJsonDumps, serializeConftoolValue } from '../../src/store/conftool-value.js';

const KEY = '/conftool/v1/pools/eqiad/sca/cxserver/sca1001.eqiad.wmnet';

t.test('serializes as Python json.dumps does', async (t) => {
  t.equal(serializeConftoolValue({ weight: 10, pooled: 'yes' }), '{"weight": 10, "pooled": "yes"}');
  t.equal(pythonJsonDumps({ a: [1, 2.5, null, true], b: {}, c: [], d: 'x"\\\n\u0001' }),
    '{"a": [1, 2.5, null, true], "b": {}, "c": [], "d": "x\\"\\\\\\n\\u0001"}');
  t.equal(pythonJsonDumps('café ✓ 😀'), '"caf\\u00e9 \\u2713 \\ud83d\\ude00"', 'ensure_ascii escapes, surrogate pairs included');
  t.equal(pythonJsonDumps('\u007f'), '"\u007f"', 'DEL is ASCII: not escaped');
});

t.test('merge keeps stored key order and unknown fields; new keys go last; new nodes start from defaults', async (t) => {
  const stored = { pooled: 'yes', owner: 'sre', weight: 10, nested: { x: [1] } };
  const merged = mergeConftoolValue(stored, { pooled: 'no' });
  t.equal(serializeConftoolValue(merged), '{"pooled": "no", "owner": "sre", "weight": 10, "nested": {"x": [1]}}');
  t.equal(serializeConftoolValue(mergeConftoolValue({ pooled: 'yes' }, { weight: 3 })), '{"pooled": "yes", "weight": 3}');
  t.equal(serializeConftoolValue(mergeConftoolValue(undefined, { pooled: 'yes' })), '{"weight": 0, "pooled": "yes"}');
  t.same(stored.pooled, 'yes', 'input not mutated');
  t.same(changedFields({ weight: 10, pooled: 'yes' }, { weight: 10, pooled: 'no' }), { pooled: 'no' });
});

t.test('garbage and wrong-typed values are InvalidStoredValueError naming the key and the problem', async (t) => {
  const cases: [string, RegExp][] = [
    ['not json', /not JSON/],
    ['', /not JSON/],
    ['[1,2]', /expected a JSON object/],
    ['"yes"', /expected a JSON object/],
    ['null', /expected a JSON object/],
    ['{"weight": "10", "pooled": "yes"}', /"weight" must be a non-negative integer, not "10"/],
    ['{"weight": 1.5, "pooled": "yes"}', /"weight" must be a non-negative integer, not 1.5/],
    ['{"weight": -1, "pooled": "yes"}', /"weight" must be a non-negative integer/],
    ['{"weight": 1, "pooled": true}', /"pooled" must be one of yes, no, inactive, not true/],
    ['{"weight": 1, "pooled": "maybe"}', /"pooled" must be one of yes, no, inactive, not "maybe"/],
    ['{"pooled": "yes"}', /"weight" is missing/],
    ['{}', /"weight" is missing; "pooled" is missing/],
  ];
  for (const [raw, msg] of cases) {
    t.throws(() => parseConftoolValue(KEY, raw), InvalidStoredValueError, `rejects ${raw}`);
    try {
      parseConftoolValue(KEY, raw);
    } catch (err) {
      t.match((err as Error).message, msg);
      t.ok((err as Error).message.includes(KEY), 'message names the key');
      t.equal((err as InvalidStoredValueError).context.key, KEY, 'context carries the key');
    }
  }
  t.same(parseConftoolValue(KEY, '{"weight": 0, "pooled": "inactive", "x": 1}'), { weight: 0, pooled: 'inactive', x: 1 });
});
