// Incident replay: RESTBase. Bad code on two nodes answered 200 with an empty body, and status-only
// checks called them healthy. poold validates the body on every URL real traffic hits (check_all),
// takes the first bad node out within fall × interval (+ stated slack), and keeps the pool alive
// with the depool threshold when the second goes bad, saying so in /alerts.
import t from 'tap';
import { startScenario, waitAllServing, waitFor, sleep } from '../helpers/scenario.js';

const PORT = 18153;
const VIP = '10.2.2.17';
/** The LVS service (PyBal section) over conftool pool eqiad/restbase/restbase: pools/ service `restbase` on PORT. */
const NAME = `restbase_${PORT}`;
const SECTION = `eqiad/${NAME}`;
const addr = (n: number) => `127.53.0.${n}`;
const host = (n: number) => `restbase10${n + 6}.eqiad.wmnet`;
const INTERVAL_MS = 250;
const FALL = 2;
// Slack over fall × interval: the check deadline of a round in flight, scheduler jitter, the leased
// observation write, the leader's publication and the watch back, on two busy cores.
const SLACK_MS = 1500;
const BOUND_MS = FALL * INTERVAL_MS + SLACK_MS;

const POOLS = `dc: eqiad
services:
  restbase:
    cluster: restbase
    lvs: { ip: ${VIP}, port: ${PORT} }
    depool_threshold: 0.75
    checks:
      - kind: http
        urls: [/, /_info]
        check_all: true
        expect: { status: ["200-299"], body: { non_empty: true } }
        timeout: 500ms
        interval: ${INTERVAL_MS}ms
        rise: 2
        fall: ${FALL}
    servers:
${[1, 2, 3, 4].map((n) => `      ${host(n)}: { weight: 10, address: ${addr(n)} }`).join('\n')}
`;

const s = await startScenario(t, {
  pools: POOLS,
  backends: [1, 2, 3, 4].map((n) => ({ address: addr(n), port: PORT, behaviour: 'ok' as const, service: 'restbase' })),
});

t.test('four healthy nodes serve', async () => {
  await waitAllServing(s, SECTION, 4, VIP, PORT);
});

t.test(`first node answers an empty 200: down and depooled within ${BOUND_MS} ms`, async (t) => {
  const start = Date.now();
  await s.sim.setBehaviour(addr(1), PORT, 'empty-200');
  const st = await waitFor('restbase1007 down and depooled', () => s.state(SECTION), (x) => x?.servers[host(1)].up === false && x.servers[host(1)].pooled === false, BOUND_MS + 5000, 20);
  const took = Date.now() - start;
  t.ok(took <= BOUND_MS, `depooled after ${took} ms (bound: fall ${FALL} × interval ${INTERVAL_MS} ms + ${SLACK_MS} ms slack)`);
  t.match(st!.servers[host(1)].reason, /empty body/, 'the reason names the cause');
  await waitFor('agent applied the depool', async () => s.table(VIP, PORT), (tb) => !(addr(1) in tb) && Object.keys(tb).length === 3);
  t.ok(await s.ipvsLine(`-d -t ${VIP}:${PORT} -r ${addr(1)}`), 'ipvsadm stand-in got -d for it');
  t.equal(await s.alerts(), 'OK - All pools are healthy', 'a legitimate depool is not an alert');
});

t.test('second node goes bad: the threshold (0.75 of 4) keeps it pooled, and /alerts says so', async (t) => {
  await s.sim.setBehaviour(addr(2), PORT, 'empty-200');
  const st = await waitFor('restbase1008 down', () => s.state(SECTION), (x) => x?.servers[host(2)].up === false, BOUND_MS + 5000, 20);
  t.equal(st!.servers[host(2)].pooled, true, 'kept pooled: 2 up < 4 × 0.75');
  t.same(st!.pooledDown, [host(2)]);
  const alert = await waitFor('/alerts CRITICAL', () => s.alerts(), (a) => a.startsWith('CRITICAL'), 3000);
  t.equal(alert, `CRITICAL - ${NAME}: Servers ${host(2)} are marked down but pooled`);
  // Stays that way: a few more rounds change nothing, and the agent never removes it.
  await sleep(6 * INTERVAL_MS);
  const later = await s.state(SECTION);
  t.equal(later!.servers[host(2)].pooled, true, 'still pooled after more failing rounds');
  const tb = s.table(VIP, PORT);
  t.same(Object.keys(tb).sort(), [addr(2), addr(3), addr(4)], 'pool alive in IPVS: 3 real servers');
  t.notOk(s.ipvsLines().some((l) => l.includes(`-r ${addr(2)}`) && l.startsWith('-d')), 'never a -d for the kept node');
});

t.test('the first recovers: repooled after rise, and the kept node is depooled in its place', async (t) => {
  await s.sim.setBehaviour(addr(1), PORT, 'ok', { service: 'restbase' });
  const st = await waitFor('swap', () => s.state(SECTION), (x) => x?.servers[host(1)].pooled === true && x.servers[host(2)].pooled === false, BOUND_MS + 5000, 20);
  t.same(st!.pooledDown, []);
  await waitFor('/alerts OK', () => s.alerts(), (a) => a === 'OK - All pools are healthy', 3000);
  await waitFor('agent swapped them', async () => s.table(VIP, PORT), (tb) => addr(1) in tb && !(addr(2) in tb));
});
