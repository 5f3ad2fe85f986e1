// Two real poold processes sharing one etcd (--lease-ttl 2).
//
// Split view. The two observers must disagree about one backend for a real reason, with no fake in
// the check path. Mechanism chosen: name resolution. Hosts in pools/ without an `address` are
// resolved by each poold through the system resolver (observer.ts), so each process runs in its own
// mount namespace (`unshare -m`, we are root in this sandbox) with its own /etc/hosts bind-mounted:
// for poold A, sp1001.split.test is the live backend 127.0.63.4; for poold B it is 127.0.63.99,
// where nothing listens, so B's checks are refused. That is a stale hosts/DNS entry on one LVS
// host, a real cause of split views, and both processes keep the same network, etcd included.
// (Rejected: iptables is absent; a per-source-address backend would need source binding in every
// checker; a second service definition per instance would not be the same pool.)
// With 2 live observers a 1-1 vote is a tie, and a tie keeps the host up (quorum.ts).
//
// Takeover. The leader is SIGKILLed (no resign, no revoke): the survivor must lead within the
// lease TTL + 1 s, publish changes made after the kill, and stop counting the dead observer's votes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { json, lines, poolctl, poolsDir, serviceYaml, spawnPoold, stopPoold, text, waitFor, type PooldProcess } from './harness.js';
import { publishedState } from '../helpers/published.js';

const PORT = 8083;
const TO = ['to1001.eqiad.wmnet', 'to1002.eqiad.wmnet', 'to1003.eqiad.wmnet'];
const TO_A = ['127.0.63.1', '127.0.63.2', '127.0.63.3'];
const SP = ['sp1001.split.test', 'sp1002.split.test'];
const TTL_MS = 2000;

const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;
if (!canUnshare) {
  t.fail('unshare -m is not available: the split-view test needs a private /etc/hosts per poold (run as root)');
  process.exit(1);
}

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const kv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => kv.close());
const sim = await startSimulator({ backends: [...TO_A, '127.0.63.4', '127.0.63.5'].map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': 'dc: eqiad\nservices:\n' +
    serviceYaml({ name: 'tosvc', cluster: 'toc', ip: '10.9.63.1', port: PORT, threshold: 0.5, servers: Object.fromEntries(TO.map((h, i) => [h, TO_A[i]])) }) +
    serviceYaml({ name: 'spsvc', cluster: 'spc', ip: '10.9.63.2', port: PORT, threshold: 0.5, servers: { [SP[0]]: '', [SP[1]]: '' } }),
});
await poolctl(['sync', dir], etcd.clientUrl);

function hostsFile(name: string, sp1001: string): string {
  const file = join(dir, name);
  writeFileSync(file, `127.0.0.1 localhost\n${sp1001} ${SP[0]}\n127.0.63.5 ${SP[1]}\n`);
  return file;
}
const withHosts = (file: string) => (cmd: string[]) => ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', file, ...cmd];
const leading = async (p: PooldProcess) => (await json<{ leadership: { leader: boolean; leaderId: string | null } }>(`${p.url}/v1/pools`)).leadership;

// A first, and leading, so that the leader we kill is known to be the one that sees sp1001 up.
const a = await spawnPoold(etcd.clientUrl, 'sp-a', [], withHosts(hostsFile('hosts-a', '127.0.63.4')));
t.teardown(() => stopPoold(a, 'SIGKILL'));
await waitFor('poold A to lead', () => leading(a), (l) => l.leader, 15_000);
const b = await spawnPoold(etcd.clientUrl, 'sp-b', [], withHosts(hostsFile('hosts-b', '127.0.63.99')));
t.teardown(() => stopPoold(b));

interface HostV1 { host: string; reason: string; observers: Record<string, { up: boolean; reason: string }> }
const spHost = async (p: PooldProcess, host: string) =>
  (await json<{ hosts: HostV1[] }>(`${p.url}/v1/pools/eqiad/spsvc_8083`)).hosts.find((h) => h.host === host);

t.test('split view: B cannot reach sp1001, A can: a 1-1 tie keeps it up and pooled', async (t) => {
  const seen = await waitFor('both observers to vote on sp1001', () => spHost(a, SP[0]),
    (h) => h?.observers['sp-a']?.up === true && h?.observers['sp-b']?.up === false, 15_000);
  t.match(seen?.observers['sp-b'].reason, /refused/i, "B's own verdict is down: connection refused");
  const want = lines(`${SP[0]}:\tenabled/up/pooled\n${SP[1]}:\tenabled/up/pooled\n`);
  for (const p of [a, b]) {
    t.same(lines(await text(`${p.url}/pools/spsvc_8083`)), want, `${p.observer} serves sp1001 up and pooled`);
  }
  t.match((await spHost(a, SP[0]))?.reason, /up on 1 of 2 observers; dissenting: sp-b/, 'the reason names the dissenting observer');
  // Several more check rounds: still up (no depool on a tie, no flapping between verdicts).
  await new Promise((r) => setTimeout(r, 1500));
  t.same(lines(await text(`${b.url}/pools/spsvc_8083`)), want, 'still up after more rounds');
  t.equal(await text(`${a.url}/alerts`), 'OK - All pools are healthy');
});

t.test('SIGKILL the leader: B takes over within TTL + 1 s and publishes changes made after the kill', async (t) => {
  t.same(await leading(b), { leader: false, leaderId: 'sp-a' });
  const killedAt = Date.now();
  await stopPoold(a, 'SIGKILL');
  await waitFor('B to lead', () => leading(b), (l) => l.leader, TTL_MS + 5000, 20);
  const takeoverMs = Date.now() - killedAt;
  t.ok(takeoverMs <= TTL_MS + 1000, `takeover in ${takeoverMs} ms (lease TTL ${TTL_MS} ms + 1 s allowed)`);

  await poolctl(['depool', 'to1002', '--reason', 'after the failover'], etcd.clientUrl);
  const want = lines(`${TO[0]}:\tenabled/up/pooled\n${TO[1]}:\tdisabled/up/not pooled\n${TO[2]}:\tenabled/up/pooled\n`);
  t.same(lines(await waitFor('depool visible on B', () => text(`${b.url}/pools/tosvc_8083`), (x) => lines(x).join() === want.join())), want);
  const published = await publishedState(kv, 'eqiad/tosvc_8083');
  t.match(published?.servers[TO[1]], { pooled: false, enabled: false }, 'the new leader published it to etcd');

  // A's observations died with its lease: B is now the only voter and sees sp1001 down.
  const gone = lines(`${SP[0]}:\tenabled/down/not pooled\n${SP[1]}:\tenabled/up/pooled\n`);
  t.same(lines(await waitFor("sp1001 depooled once A's votes expire", () => text(`${b.url}/pools/spsvc_8083`), (x) => lines(x).join() === gone.join())), gone);
  t.same(Object.keys((await spHost(b, SP[0]))?.observers ?? {}), ['sp-b'], 'only the live observer is listed');
});
