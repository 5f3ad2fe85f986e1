// Fuzz: raw values that other tools (or accidents) write at the keys poold and poolctl read:
// garbage, JSON of the wrong shape, fields of the wrong type. Against a real etcd and a running
// poold:
// - conftool host keys: a write through the CAS path either fails with a typed error naming the key
//   and leaves the value byte for byte, or repairs it into a valid conftool value; poold never
//   crashes and keeps acting on the host's last good value;
// - /poold/v1/services keys: poold keeps the last good definition (its checks keep running, the
//   pool keeps serving) and /alerts says CRITICAL with the key's problem; a good definition clears it.
// Each run is followed by a sentinel change on the same watch stream, so "poold has seen it" is a
// fact, not a sleep.
import t from 'tap';
import fc from 'fast-check';
import { pino } from 'pino';
import { startEtcd } from '../helpers/etcd.js';
import { runPoolctl } from '../helpers/poolctl.js';
import { poolctl, poolsDir, startDaemon, text, waitFor } from '../daemon/harness.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { Keys } from '../../src/store/keys.js';
import { updateHosts } from '../../src/store/write.js';
import { parseConftoolValue } from '../../src/store/conftool-value.js';
import { PooldError } from '../../src/model/errors.js';

const PORT = 18161;
const addr = (n: number) => `127.61.0.${n}`;
const host = (n: number) => `fz100${n}.eqiad.wmnet`;
const HOSTKEY = (n: number) => `/conftool/v1/pools/eqiad/fz/fzsvc/${host(n)}`;
// The LVS service (PyBal section) is fzsvc_<port>; its servers come from the conftool pool eqiad/fz/fzsvc.
const SECTION = `fzsvc_${PORT}`;
const SVCKEY = `/poold/v1/services/eqiad/${SECTION}`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: [1, 2, 3].map((n) => ({ address: addr(n), port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
await poolctl(['sync', poolsDir({
  'eqiad.yaml': `dc: eqiad
services:
  fzsvc:
    cluster: fz
    lvs: { ip: 10.2.61.1, port: ${PORT} }
    depool_threshold: 0.5
    checks: [{ kind: tcp, timeout: 500ms, interval: 300ms, rise: 1, fall: 1 }]
    servers:
${[1, 2, 3].map((n) => `      ${host(n)}: { weight: 10, address: ${addr(n)} }`).join('\n')}
`,
})], etcd.clientUrl);
// poold's error log, captured: each bad value must be reported there with its key.
const logged: string[] = [];
const daemon = await startDaemon(etcd.endpoints, { observer: 'fuzz-poold', log: pino({ level: 'error' }, { write: (line: string) => void logged.push(line) }) });
t.teardown(() => daemon.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const keys = new Keys();
const GOOD_DEF = (await kv.get(SVCKEY))!.value;
const put = (key: string, value: string) => kv.txn({ compare: [], success: [{ type: 'put', key, value }] });

const ALL = [1, 2, 3].map((n) => `${host(n)}:\tenabled/up/pooled`).sort().join('\n');
const pools = async () => (await text(`${daemon.url}/pools/${SECTION}`)).split('\n').filter(Boolean).sort().join('\n');

/** Values other tools might leave behind. */
const garbage = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.json({ maxDepth: 3 }),
  fc.record({ weight: fc.anything({ maxDepth: 1 }), pooled: fc.anything({ maxDepth: 1 }) }).map((v) => JSON.stringify(v)),
  fc.constantFrom('', '{', 'null', '[]', '{}', '"yes"', '{"weight":"10","pooled":"yes"}', '{"weight":-1,"pooled":"yes"}',
    '{"weight":10,"pooled":"maybe"}', '{"weight":1e400,"pooled":"yes"}', '{"weight":10.5,"pooled":"no"}', '\u0000', 'x'.repeat(70_000),
    '{"__proto__":{"weight":1},"pooled":"yes"}'),
);

const isValidConftool = (key: string, raw: string) => {
  try {
    parseConftoolValue(key, raw);
    return true;
  } catch {
    return false;
  }
};

let sentinelWeight = 10;
/** A weight change on fz1001 (same prefix, same watch): once poold shows it, it has seen everything before. */
async function sentinel(): Promise<void> {
  sentinelWeight = sentinelWeight === 10 ? 11 : 10;
  await updateHosts(kv, [{ key: HOSTKEY(1), patch: { weight: sentinelWeight } }], { keys, actor: 'fuzz', reason: 'sentinel' });
  await waitFor('poold saw the sentinel', async () => JSON.parse(await text(`${daemon.url}/pools/${SECTION}`, { headers: { accept: 'application/json' } })) as Record<string, { weight: number }>,
    (j) => j[host(1)]?.weight === sentinelWeight, 5000, 10);
}

t.test('steady state', async (t) => {
  t.equal(await waitFor('all pooled', pools, (b) => b === ALL, 15_000), ALL);
});

t.test('garbage at a conftool key: typed error naming the key and nothing changed, or a repair; poold unharmed', async (t) => {
  let refused = 0;
  let repaired = 0;
  await fc.assert(fc.asyncProperty(garbage, async (raw) => {
    fc.pre(!isValidConftool(HOSTKEY(3), raw));
    await put(HOSTKEY(3), raw);
    await sentinel();
    // poold: alive, and fz1003 still acts on its last good value (enabled, pooled).
    const now = await pools();
    if (now.replace(/\n/g, '|') !== ALL.replace(/\n/g, '|')) throw new Error(`after ${JSON.stringify(raw.slice(0, 80))} poold shows ${JSON.stringify(now)}`);
    const said = logged.filter((l) => l.includes(HOSTKEY(3)) && l.includes('keeping the last good one'));
    if (said.length === 0) throw new Error(`poold did not log the bad value at ${HOSTKEY(3)}`);
    logged.length = 0;
    // The operator's write path.
    try {
      await updateHosts(kv, [{ key: HOSTKEY(3), patch: { pooled: 'no' } }], { keys, actor: 'fuzz', reason: 'fuzz' });
      const after = (await kv.get(HOSTKEY(3)))!.value;
      if (parseConftoolValue(HOSTKEY(3), after).pooled !== 'no') throw new Error(`repair of ${JSON.stringify(raw)} wrote ${after}`);
      repaired++;
    } catch (err) {
      if (!(err instanceof PooldError)) throw new Error(`untyped error for ${JSON.stringify(raw.slice(0, 80))}: ${String(err)}`, { cause: err });
      if (!err.message.includes(HOSTKEY(3))) throw new Error(`error does not name the key: ${err.message}`, { cause: err });
      if ((await kv.get(HOSTKEY(3)))!.value !== raw) throw new Error(`a refused write changed ${HOSTKEY(3)}`, { cause: err });
      refused++;
    }
    // Back to good for the next run.
    await put(HOSTKEY(3), '{"weight": 10, "pooled": "yes"}');
  }), { numRuns: 40 });
  t.ok(refused > 0, `refused ${refused}, repaired ${repaired}`);
  t.equal(await waitFor('all pooled again', pools, (b) => b === ALL, 5000), ALL);
});

t.test('poolctl on a garbage conftool value: exit 1, names the key, writes nothing', async (t) => {
  const raw = '{"weight":"ten","pooled":"yes"}';
  await put(HOSTKEY(2), raw);
  const r = await runPoolctl(['depool', 'fz1002', '--reason', 'x'], { POOLD_ETCD: etcd.clientUrl });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, HOSTKEY(2));
  t.match(r.stderr, /weight/);
  t.equal((await kv.get(HOSTKEY(2)))!.value, raw, 'unchanged');
  await put(HOSTKEY(2), '{"weight": 10, "pooled": "yes"}');
});

t.test('garbage service definition: last good definition kept, /alerts CRITICAL naming the key; fixed: cleared', async (t) => {
  let runs = 0;
  await fc.assert(fc.asyncProperty(garbage, async (raw) => {
    await put(SVCKEY, raw);
    const alert = await waitFor('drift alert', () => text(`${daemon.url}/alerts`), (a) => a.startsWith('CRITICAL'), 5000, 10);
    if (!alert.includes(SVCKEY) && !alert.includes('etcd')) throw new Error(`alert does not say where: ${alert}`);
    if (!/last good definition/.test(alert)) throw new Error(`alert does not say the last good definition runs: ${alert}`);
    const now = await pools();
    if (now !== ALL) throw new Error(`after ${JSON.stringify(raw.slice(0, 80))} poold shows ${JSON.stringify(now)}`);
    await put(SVCKEY, GOOD_DEF);
    await waitFor('alert cleared', () => text(`${daemon.url}/alerts`), (a) => a === 'OK - All pools are healthy', 5000, 10);
    runs++;
  }), { numRuns: 25 });
  t.equal(runs, 25);
  // The checks kept running on the old definition throughout: a backend failure is still noticed.
  await sim.setBehaviour(addr(2), PORT, 'refused');
  await waitFor('fz1002 depooled by the running checks', () => text(`${daemon.url}/pools/${SECTION}/${host(2)}`), (b) => b === 'enabled/down/not pooled\n', 10_000);
  await sim.setBehaviour(addr(2), PORT, 'ok');
  t.equal(await waitFor('back', pools, (b) => b === ALL, 10_000), ALL);
});

t.test('garbage under the services prefix at a key that is not a service path is ignored', async (t) => {
  // A service path is exactly <dc>/<name>: one segment short, and segments too many.
  await put('/poold/v1/services/eqiad', '{"x":1}');
  await put(`${SVCKEY}/extra/deep`, 'garbage');
  await sentinel();
  t.equal(await text(`${daemon.url}/alerts`), 'OK - All pools are healthy');
  t.equal(await pools(), ALL);
});
