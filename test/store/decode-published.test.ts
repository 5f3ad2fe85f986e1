// The leader serves what its own transaction committed without decoding it again (issue 12:
// daemon/watch-state.ts). That is only sound if the object it serves is exactly what every other
// reader decodes from the value written: asDecodedServer, which the leader's encoder applies to each
// server it builds, must give decodePoolState(JSON.stringify(state))'s server for every kind of state
// the coordinator builds. (The whole encoded state against the decoder: test/daemon/state-encoder.test.ts.)
import t from 'tap';
import { applyEvents, createCoordinator, effectiveState } from '../../src/model/coordinator.js';
import type { PoolState } from '../../src/model/types.js';
import { InvalidStoredValueError } from '../../src/model/errors.js';
import { asDecodedServer, decodePoolState } from '../../src/store/decode.js';
import { adminAll, service } from '../model/coordinator-fixtures.js';

const HOSTS = ['kube1001.eqiad.wmnet', 'kube1002.eqiad.wmnet', 'kube1003.eqiad.wmnet', 'kube1004.eqiad.wmnet', 'kube1005.eqiad.wmnet'];
const [A, B, C, D] = HOSTS as [string, string, string, string];

/** States the leader publishes: fresh (assumed up, first round), then with findings, flapping, a held depool, a freeze. */
function published(): { what: string; state: PoolState }[] {
  const def = service(HOSTS, 0.5);
  const out: { what: string; state: PoolState }[] = [];
  let tr = createCoordinator({ at: 1000, service: def, admin: adminAll(HOSTS), firstRoundTimeoutMs: 30_000 });
  out.push({ what: 'fresh, first round', state: effectiveState(tr.state) });
  tr = applyEvents(tr.state, [
    { type: 'healthChanged', at: 2000, host: A, up: false, reason: 'connection refused', findings: [{ code: 'refused', message: 'refused', severity: 'critical' }] },
    { type: 'healthChanged', at: 2000, host: B, up: true, reason: 'ok', flapping: true },
    { type: 'healthChanged', at: 2000, host: C, up: true, reason: '' },
    { type: 'adminChanged', at: 2100, host: D, value: { weight: 10, pooled: 'no' }, revision: 77 },
  ]);
  out.push({ what: 'findings, flapping, empty reason, admin depool', state: effectiveState(tr.state) });
  tr = applyEvents(tr.state, [{ type: 'freezeChanged', at: 3000, freeze: { since: 3000, until: 60_000, actor: 'alice', reason: 'maintenance' } }]);
  const c = { check: 'tcp', label: 'tcp', failed: 3, total: 5, share: 0.6, windowMs: 60_000 };
  out.push({ what: 'frozen, with a correlated failure', state: { ...effectiveState(tr.state), correlatedFailure: c } });
  return out;
}

t.test('what the leader serves at commit equals what a reader decodes from the value written', async (t) => {
  for (const { what, state } of published()) {
    const decoded = decodePoolState('/poold/v1/state/eqiad/cxserver', JSON.stringify(state), { dc: 'eqiad', name: 'cxserver' });
    for (const [host, s] of Object.entries(state.servers)) {
      const served = asDecodedServer(`eqiad/cxserver servers.${host}`, structuredClone(s));
      t.strictSame(served, decoded.servers[host], `${what}: ${host}`);
      t.equal(JSON.stringify(served), JSON.stringify(decoded.servers[host]), `${what}: ${host}: same bytes when rendered`);
    }
  }
});

t.test('a server that is not well-formed is refused, naming it', async (t) => {
  const [first] = published();
  const bad = { ...first!.state.servers[A]!, weight: -1 };
  const where = `eqiad/cxserver servers.${A}`;
  t.throws(() => asDecodedServer(where, bad), InvalidStoredValueError);
  t.throws(() => asDecodedServer(where, bad), { message: new RegExp(`eqiad/cxserver servers\\.${A.replace(/\./g, '\\.')}`) });
});
