// The leader's instance serves the states its own transaction committed without waiting for its
// watch to bring them back (issue 12: at eqiad's size that echo is 1.7 MB per kubesvc change, decoded
// again). Proof with real processes' parts: instance A's watch goes through a proxy that black-holes
// it (test/helpers/stall-proxy.ts), so nothing reaches A through its watch. B leads, then resigns; A
// takes over (its election reads and writes etcd directly) and publishes: A's /v1/pools shows the
// publication etcd holds although A's watch delivered nothing. Once the watch passes again, A serves
// exactly the bytes a follower (C, decoding from its own watch) serves, on /pools and /v1/pools (A's
// black-holed connection never recovers: what A serves is still its commit's copy).
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { StallProxy } from '../helpers/stall-proxy.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { json, poolctl, poolsDir, serviceYaml, startDaemon, text, waitFor } from './harness.js';

const PORT = 8093;
const HOSTS = Array.from({ length: 12 }, (_, i) => `lsc${1001 + i}.eqiad.wmnet`);
const ADDR = HOSTS.map((_, i) => `127.0.93.${i + 1}`);
const SECTIONS = ['lsca', 'lscb', 'lscc'];

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: ADDR.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const servers = Object.fromEntries(HOSTS.map((h, i) => [h, ADDR[i]!]));
// Three sections over one conftool pool (cluster lsc), as kubesvc's 44 at eqiad.
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${SECTIONS.map((name, i) => serviceYaml({ name, cluster: 'lsc', ip: `10.9.93.${i + 1}`, port: PORT, threshold: 0.5, interval: '1s', servers })).join('')}`,
});
await poolctl(['sync', dir, '--yes'], etcd.clientUrl);
const kv = await openKv({ endpoints: etcd.endpoints }, 'gateway');
t.teardown(() => kv.close());
const keys = new Keys();
const section = `${SECTIONS[0]}_${PORT}`;
const stateRevision = async () => (JSON.parse((await kv.get(keys.state({ dc: 'eqiad', name: section })))!.value) as { revision: number }).revision;

interface Detail { revision: number | null; leadership: unknown; hosts: Record<string, unknown>[] }
const detail = (url: string) => json<Detail>(`${url}/v1/pools/eqiad/${section}`);
/** What /v1/pools says of the published state (not this instance's own verdicts, observers, leadership or staleness). */
const published = (d: Detail) => ({
  revision: d.revision,
  hosts: d.hosts.map((h) => Object.fromEntries(Object.entries(h).filter(([k]) => !['verdicts', 'observers'].includes(k)))),
});

const proxy = new StallProxy({ host: new URL(etcd.clientUrl).hostname, port: Number(new URL(etcd.clientUrl).port) });
await proxy.start();
t.teardown(() => proxy.close());

const b = await startDaemon(etcd.endpoints, { observer: 'lsc-b' });
let bStopped = false;
t.teardown(() => (bStopped ? undefined : b.stop()));
await waitFor('B leads and published', async () => ({ leader: b.isLeader, rev: await stateRevision().catch(() => 0) }), (s) => s.leader && s.rev > 0, 30_000);
// A: watch through the proxy; a long watch check, so that A does not re-establish its watch meanwhile.
const a = await startDaemon(etcd.endpoints, { observer: 'lsc-a', watchEndpoints: [proxy.url], watchCheckIntervalMs: 120_000 });
t.teardown(() => a.stop());
await waitFor('A serves B\'s publication through its watch', async () => ({ a: (await detail(a.url)).revision, etcd: await stateRevision() }), (s) => s.a === s.etcd, 30_000);

t.test('the new leader serves its own publication while its watch delivers nothing', async (t) => {
  proxy.stall();
  // By the header's etcd mod revision, not the state's own revision: B may publish once more after
  // A's watch stalled, and A, not having seen it, then starts from the revision before it, so its
  // first publication can carry the number B's last one had.
  const modRevision = async () => (await kv.get(keys.state({ dc: 'eqiad', name: section })))!.modRevision;
  const before = await modRevision();
  bStopped = true;
  await b.stop();
  await waitFor('A leads', async () => a.isLeader, (l) => l, 30_000);
  await waitFor('A\'s publication in etcd', modRevision, (m) => m > before, 30_000);
  const rev = await stateRevision();
  const served = await waitFor('A serves what etcd holds', async () => (await detail(a.url)).revision, (r) => r === rev, 10_000);
  t.equal(served, rev, `A serves revision ${served}, what etcd holds, with its watch black-holed`);
});

t.test('A serves exactly what a follower decodes', async (t) => {
  proxy.release();
  const c = await startDaemon(etcd.endpoints, { observer: 'lsc-c' });
  t.teardown(() => c.stop());
  const rev = await stateRevision();
  await waitFor('C serves the same revision', async () => (await detail(c.url)).revision, (r) => r === rev, 30_000);
  for (const name of SECTIONS) {
    const s = `${name}_${PORT}`;
    const [pa, pc] = [await text(`${a.url}/pools/${s}`), await text(`${c.url}/pools/${s}`)];
    t.equal(pa, pc, `/pools/${s}: the same bytes from the leader and a follower`);
    t.equal(pa.split('\n').filter((l) => l !== '').length, HOSTS.length);
  }
  t.strictSame(published(await detail(a.url)), published(await detail(c.url)), '/v1/pools: the same published state');
});
