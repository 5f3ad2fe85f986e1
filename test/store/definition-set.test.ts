// DefinitionSet: definitions and the pools' server lists as a range or watch of services/ delivers
// them. Which definitions a list change touches, the older form (servers inline), and every way a
// list can be missing or broken, named in the error.
import t from 'tap';
import { DefinitionSet } from '../../src/store/definition-set.js';
import { decodePoolList, decodeServiceDef, encodePoolList } from '../../src/store/decode.js';
import { Keys } from '../../src/store/keys.js';
import { InvalidStoredValueError } from '../../src/model/errors.js';
import type { ServiceDef } from '../../src/model/types.js';

const keys = new Keys();
const kube = { dc: 'eqiad', cluster: 'kubernetes', service: 'kubesvc' };
const servers = { 'kubernetes1005.eqiad.wmnet': { weight: 10 }, 'kubernetes1006.eqiad.wmnet': { weight: 10, address: '10.64.0.6' } };
function def(name: string, pool = { cluster: 'kubernetes', service: 'kubesvc' }): Omit<ServiceDef, 'servers'> {
  return {
    dc: 'eqiad', name, catalog: name.replace(/_\d+$/, ''), pool,
    lvs: { ip: '10.2.2.1', port: 4737, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: 0.5, checks: [], flapping: { transitions: 6, windowMs: 600_000 }, monitoring: {},
  };
}
const names = (ks: { name: string }[]) => ks.map((k) => k.name).sort();

t.test('the key layout: lists live below services/, apart from the definitions range', async (t) => {
  t.equal(keys.poolList(kube), '/poold/v1/services/~pools/eqiad/kubernetes/kubesvc');
  t.same(keys.parsePoolList(keys.poolList(kube)), kube);
  t.equal(keys.parseService(keys.poolList(kube)), undefined, 'a list is not a definition');
  t.equal(keys.parseService('/poold/v1/services/~pools/x'), undefined, 'nor is any key below ~pools/');
  const r = keys.definitionsRange();
  for (const k of ['/poold/v1/services/eqiad/apertium_4737', '/poold/v1/services/zz9/a']) t.ok(k >= r.key && k < r.end, `${k} in the definitions range`);
  t.notOk(keys.poolList(kube) < r.end, 'the list is not');
});

t.test('definitions over a pool take its list; a list change names exactly them', async (t) => {
  const set = new DefinitionSet(keys, () => true);
  // A listing's key order: the definitions first, then the list they use.
  t.same(names(set.change(keys.service(def('apertium_4737')), JSON.stringify(def('apertium_4737'))).changed), ['apertium_4737']);
  set.change(keys.service(def('citoid_4003')), JSON.stringify(def('citoid_4003')));
  set.change(keys.service(def('other_80')), JSON.stringify(def('other_80', { cluster: 'sca', service: 'other' })));
  t.same(names(set.change(keys.poolList({ ...kube, service: 'x' }), encodePoolList({ ...kube, service: 'x' }, servers)).changed), ['apertium_4737', 'citoid_4003', 'other_80'],
    'definitions not decoded yet: any list may be theirs');
  // The end of the batch: callers decode what changed.
  t.throws(() => set.decode(def('apertium_4737')), /names no servers, and pool eqiad\/kubernetes\/kubesvc has no stored server list/);
  t.throws(() => set.decode(def('citoid_4003')), InvalidStoredValueError);
  t.throws(() => set.decode(def('other_80', { cluster: 'sca', service: 'other' })), /eqiad\/sca\/other has no stored server list/);
  t.same(names(set.change(keys.poolList(kube), encodePoolList(kube, servers)).changed), ['apertium_4737', 'citoid_4003'],
    'the list arriving names the definitions that asked for it');
  const a = set.decode(def('apertium_4737'));
  t.same(a.servers, servers);
  t.equal(a.servers, set.decode(def('citoid_4003')).servers, 'one list object, shared');
  t.same(set.change(keys.poolList({ ...kube, service: 'unused' }), encodePoolList({ ...kube, service: 'unused' }, servers)).changed, [], 'a list nobody uses changes nothing');
  t.same(names(set.change(keys.poolList(kube), undefined).changed), ['apertium_4737', 'citoid_4003'], 'its deletion too');
  t.throws(() => set.decode(def('citoid_4003')), InvalidStoredValueError);
  t.same(set.change(keys.service(def('citoid_4003')), undefined), { changed: [], removed: [{ dc: 'eqiad', name: 'citoid_4003' }] });
  t.same(set.paths().sort(), ['eqiad/apertium_4737', 'eqiad/other_80']);
});

t.test('a definition with its own servers (older versions) keeps them and ignores the list', async (t) => {
  const set = new DefinitionSet(keys, () => true);
  const own = { ...def('apertium_4737'), servers: { 'k1.eqiad.wmnet': { weight: 3 } } };
  set.change(keys.service(own), JSON.stringify(own));
  set.change(keys.poolList(kube), encodePoolList(kube, servers));
  t.same(set.decode(own).servers, own.servers);
  t.same(set.change(keys.poolList(kube), encodePoolList(kube, {})).changed, [], 'not touched by the list');
});

t.test('take(): what changed since the last take, each definition once, the last word winning', async (t) => {
  const set = new DefinitionSet(keys, () => true);
  set.change(keys.service(def('apertium_4737')), JSON.stringify(def('apertium_4737')));
  set.change(keys.service(def('citoid_4003')), JSON.stringify(def('citoid_4003')));
  set.change(keys.poolList(kube), encodePoolList(kube, servers));
  set.change(keys.service(def('citoid_4003')), undefined);
  t.same(set.take().map((x) => [x.sk.name, x.removed]).sort(), [['apertium_4737', false], ['citoid_4003', true]]);
  t.same(set.take(), [], 'taken once');
});

t.test('out-of-scope definitions are not held', async (t) => {
  const set = new DefinitionSet(keys, (k) => k.dc === 'codfw');
  t.same(set.change(keys.service(def('apertium_4737')), JSON.stringify(def('apertium_4737'))), { changed: [], removed: [] });
  t.same(set.paths(), []);
});

t.test('a broken list: every definition over it fails with the list\'s problem; the server entries are checked per definition', async (t) => {
  const set = new DefinitionSet(keys, () => true);
  set.change(keys.service(def('apertium_4737')), JSON.stringify(def('apertium_4737')));
  const cases: [string, RegExp][] = [
    ['{"dc": "eqiad", not json', /server list is unreadable: .*not valid JSON|server list is unreadable/],
    ['[]', /server list is unreadable: .*expected an object/],
    [JSON.stringify({ dc: 'eqiad', cluster: 'kubernetes', service: 'other', servers }), /names pool eqiad\/kubernetes\/other, not eqiad\/kubernetes\/kubesvc/],
    [JSON.stringify({ dc: 'eqiad', cluster: 'kubernetes', service: 'kubesvc', servers: [1] }), /servers: expected an object/],
    [JSON.stringify({ dc: 'eqiad', cluster: 'kubernetes', service: 'kubesvc', servers: { h: 5 } }), /servers\.h: expected an object/],
  ];
  for (const [value, re] of cases) {
    t.same(names(set.change(keys.poolList(kube), value).changed), ['apertium_4737']);
    const err = (() => { try { set.decode(def('apertium_4737')); } catch (e) { return e; } return undefined; })();
    t.type(err, InvalidStoredValueError, value);
    t.match((err as Error).message, re, value);
    t.match((err as Error).message, keys.service(def('apertium_4737')), 'names the definition');
  }
  // Well-formed as a list, but a server the model refuses: reported against the definition.
  set.change(keys.poolList(kube), encodePoolList(kube, { h: { weight: -1 } }));
  t.throws(() => set.decode(def('apertium_4737')), /weight/);
  t.throws(() => decodePoolList('k', encodePoolList(kube, servers), { ...kube, dc: 'codfw' }), /names pool eqiad\/kubernetes\/kubesvc, not codfw\/kubernetes\/kubesvc/);
  t.throws(() => decodeServiceDef('k', JSON.stringify(def('apertium_4737'))), /has no stored server list/, 'no lookup at all: a clear error');
});
