// poolctl's inventory reads published state on demand: a change to one host reads the states of the
// LVS services over that host's pools, not every state of the site (issue 12: at eqiad's size the
// states are several MB, and reading them all was most of a depool's time). A state that was not read
// is an error, never "unpublished": the guard must not judge a section without its health. The guard
// itself reads only each section's header (its `notServing` list), never the whole states.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { openContext } from '../../src/cli/context.js';
import { loadServingOverPools, loadStatesOverPools, readInventory, resolveHost, servingOf, StateNotReadError, stateOf } from '../../src/cli/inventory.js';
import { putSplitState } from '../helpers/published.js';
import { guardChange } from '../../src/cli/guard.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { putDef, putJson, putState } from '../lvs/agent-helpers.js';
import { poolState, serviceDef } from '../lvs/lvs-fixtures.js';

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = await openKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const keys = new Keys();

// Two sections over sca/cxserver (ports 8080 and 4000), one over sca/other.
const cx = serviceDef({ service: 'cxserver' });
const cx2 = { ...serviceDef({ service: 'cxserver', lvs: { port: 4000 } }), name: 'cxserver_4000' };
const other = serviceDef({ service: 'other', lvs: { ip: '10.2.2.30' }, servers: { 'sca2001.eqiad.wmnet': '10.64.0.9' } });
for (const def of [cx, cx2, other]) {
  await putDef(kv, def);
  for (const h of Object.keys(def.servers)) await putJson(kv, keys.host({ dc: 'eqiad', ...def.pool, host: h }), { weight: 10, pooled: 'yes' });
}
const [H1, H2, H3] = Object.keys(cx.servers) as [string, string, string];
// cxserver_8080 sees two of its three hosts down: only H1 serves there.
await putState(kv, poolState(cx, { [H1]: {}, [H2]: { up: false, pooled: true }, [H3]: { up: false, pooled: true } }));
await putState(kv, poolState(cx2, { [H1]: {}, [H2]: {}, [H3]: {} }));
await putState(kv, poolState(other, { 'sca2001.eqiad.wmnet': {} }));

const ctx = await openContext({ etcd: etcd.clientUrl });
t.teardown(() => ctx.close());

t.test('on demand: no state until asked; then exactly the sections over the host\'s pool', async (t) => {
  const inv = await readInventory(ctx);
  t.equal(inv.states.size, 0, 'nothing read up front');
  t.throws(() => stateOf(inv, 'eqiad/cxserver'), StateNotReadError, 'an unread state is an error, not "unpublished"');
  const targets = resolveHost(inv, H1);
  await loadStatesOverPools(ctx, inv, targets);
  t.same([...inv.states.keys()].sort(), ['eqiad/cxserver', 'eqiad/cxserver_4000']);
  t.same(inv.statesRead instanceof Set ? [...inv.statesRead].sort() : inv.statesRead, ['eqiad/cxserver', 'eqiad/cxserver_4000']);
  t.throws(() => stateOf(inv, 'eqiad/other'), StateNotReadError, 'the section over another pool was not read');
  t.equal(stateOf(inv, 'eqiad/cxserver')?.servers[H2]?.up, false, 'the state read is the published one');
});

t.test('the guard judges with the states it read: depooling the one host serving cxserver is refused', async (t) => {
  const inv = await readInventory(ctx);
  const targets = resolveHost(inv, H1);
  t.throws(() => guardChange(inv, targets, { pooled: 'no' }), StateNotReadError, 'the guard will not run without the states');
  await loadStatesOverPools(ctx, inv, targets);
  const g = guardChange(inv, targets, { pooled: 'no' });
  t.equal(g.refusals.length, 1, g.refusals.join('\n'));
  t.match(g.refusals[0], /LVS service eqiad\/cxserver \(pool eqiad\/sca\/cxserver\)/);
});

t.test('"all" reads every state, as poolctl status does', async (t) => {
  const inv = await readInventory(ctx, { states: 'all' });
  t.equal(inv.statesRead, 'all');
  t.same([...inv.states.keys()].sort(), ['eqiad/cxserver', 'eqiad/cxserver_4000', 'eqiad/other']);
});

t.test('the guard reads headers alone, in either form: the same refusal, no whole state read', async (t) => {
  for (const form of ['inline', 'split'] as const) {
    if (form === 'split') {
      await putSplitState(kv, poolState(cx, { [H1]: {}, [H2]: { up: false, pooled: true }, [H3]: { up: false, pooled: true } }));
      await putSplitState(kv, poolState(cx2, { [H1]: {}, [H2]: {}, [H3]: {} }));
    }
    const inv = await readInventory(ctx);
    const targets = resolveHost(inv, H1);
    t.throws(() => servingOf(inv, 'eqiad/cxserver'), StateNotReadError, `${form}: unread is an error`);
    await loadServingOverPools(ctx, inv, targets);
    t.equal(inv.states.size, 0, `${form}: no whole state read`);
    t.same([...inv.serving.keys()].sort(), ['eqiad/cxserver', 'eqiad/cxserver_4000'], `${form}: the headers of the sections over the pool`);
    t.same([...servingOf(inv, 'eqiad/cxserver')!.notServing].sort(), [H2, H3], `${form}: the hosts not serving`);
    const g = guardChange(inv, targets, { pooled: 'no' });
    t.equal(g.refusals.length, 1, `${form}: ${g.refusals.join('; ')}`);
    t.match(g.refusals[0], /leave 0 of 3 hosts serving in LVS service eqiad\/cxserver \(pool eqiad\/sca\/cxserver\)/);
  }
});
