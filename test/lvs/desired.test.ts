// Desired table from service definitions + pool states, and its fail-static rules.
import t from 'tap';
import { buildDesired, emptiedByAdmins } from '../../src/lvs/desired.js';
import { LvsInputError } from '../../src/lvs/errors.js';
import { poolState, serviceDef } from './lvs-fixtures.js';

const def = serviceDef();
const H1 = 'sca1001.eqiad.wmnet';
const H2 = 'sca1002.eqiad.wmnet';
const H3 = 'sca1003.eqiad.wmnet';

t.test('pooled hosts become real servers with their weight; unpooled ones are absent', async (t) => {
  const state = poolState(def, { [H1]: {}, [H2]: { weight: 0 }, [H3]: { up: false, pooled: false } });
  const d = buildDesired([{ def, state }]);
  t.same(d.skipped, []);
  t.same(d.services, [{
    protocol: 'tcp', address: '10.2.2.18', port: 8080, scheduler: 'wrr', flags: [],
    servers: [
      { address: '10.64.0.1', port: 8080, method: 'g', weight: 10 },
      { address: '10.64.0.2', port: 8080, method: 'g', weight: 0 },
    ],
  }], 'a drained host (weight 0) stays with weight 0');
});

t.test('IPv6, UDP, method and resolved addresses', async (t) => {
  const d6 = serviceDef({ lvs: { ip: '2620:0:861:0:0:0:0:1', port: 53, protocol: 'udp', method: 'm' }, servers: { [H1]: '2620:0:0::5', [H2]: undefined } });
  const d = buildDesired([{ def: d6, state: poolState(d6, { [H1]: {}, [H2]: {} }), resolved: { [H2]: '2620::6' } }]);
  t.same(d.services[0], {
    protocol: 'udp', address: '2620:0:861::1', port: 53, scheduler: 'wrr', flags: [],
    servers: [
      { address: '2620::5', port: 53, method: 'm', weight: 10 },
      { address: '2620::6', port: 53, method: 'm', weight: 10 },
    ],
  }, 'canonical IPv6 addresses, masquerading, address resolved by the caller');
});

t.test('fail static: skip instead of guessing', async (t) => {
  const noAddr = serviceDef({ servers: { [H1]: '10.64.0.1', [H2]: undefined } });
  const cases = [
    { input: { def }, reason: /no pool state published/ },
    { input: { def: noAddr, state: poolState(noAddr, { [H1]: {}, [H2]: {} }) }, reason: /pooled host sca1002.eqiad.wmnet has no address/ },
    { input: { def, state: poolState(def, { [H1]: { weight: 70000 } }) }, reason: /weight 70000, expected an integer 0..65535/ },
    { input: { def, state: poolState(def, { [H1]: { up: false, pooled: false }, [H2]: { pooledAdmin: 'no' } }) }, reason: /refusing to empty the pool/ },
    { input: { def, state: poolState(def, {}) }, reason: /refusing to empty the pool/ },
    { input: { def: serviceDef({ lvs: { ip: 'lvs.example' } }), state: poolState(def, { [H1]: {} }) }, reason: /lvs.ip: "lvs.example" is not an IPv4 or IPv6 address/ },
    { input: { def: serviceDef({ servers: { [H1]: '10.64.0.1', [H2]: '10.64.0.1' } }), state: poolState(def, { [H1]: {}, [H2]: {} }) }, reason: /two pooled hosts share address 10.64.0.1/ },
  ];
  for (const c of cases) {
    const d = buildDesired([c.input]);
    t.same(d.services, [], `${c.reason}: service not in the desired table`);
    t.match(d.skipped[0]?.reason, c.reason);
    t.equal(d.skipped[0]?.service, 'eqiad/cxserver', 'skipped entry names the LVS service');
  }
});

t.test('a pool emptied by the admins is emptied', async (t) => {
  const state = poolState(def, { [H1]: { pooledAdmin: 'no' }, [H2]: { pooledAdmin: 'inactive' }, [H3]: { pooledAdmin: 'no' } });
  t.ok(emptiedByAdmins(state));
  const d = buildDesired([{ def, state }]);
  t.same(d.skipped, []);
  t.same(d.services[0]?.servers, [], 'virtual service kept, with no real servers');
});

t.test('two services claiming one VIP:port: the second is skipped; mismatched state is a bug', async (t) => {
  const other = serviceDef({ service: 'other' });
  const d = buildDesired([{ def, state: poolState(def, { [H1]: {} }) }, { def: other, state: poolState(other, { [H1]: {} }) }]);
  t.equal(d.services.length, 1);
  t.match(d.skipped[0], { service: 'eqiad/other', reason: /also defined by eqiad\/cxserver/ });
  t.throws(() => buildDesired([{ def, state: poolState(other, {}) }]), LvsInputError);
});
