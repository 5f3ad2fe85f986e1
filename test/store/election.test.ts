// Leader election and leased observations against a real etcd.
import t from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import { Election } from '../../src/store/election.js';
import { Keys } from '../../src/store/keys.js';
import { ObservationPublisher } from '../../src/store/observations.js';
import type { Observation } from '../../src/model/types.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const keys = new Keys();
const TTL = 2;

t.test('one leader among three; a crashed leader is replaced within TTL + 1 s; resign hands over at once', async (t) => {
  const clients = [0, 1, 2].map(() => new Etcd3Kv({ endpoints: etcd.endpoints }));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  const log: string[] = [];
  const elections = clients.map((kv, i) => new Election(kv, { key: keys.election('t1'), candidate: `poold-${i}`, ttlSeconds: TTL }, {
    onLeader: () => log.push(`${i} leads`),
    onFollower: () => undefined,
    onError: (e) => t.fail(e.message),
  }));
  t.teardown(() => Promise.all(elections.map((e) => e.stop())));
  elections.forEach((e) => e.start());
  await until('a leader', () => elections.some((e) => e.isLeader));
  await sleep(300);
  t.equal(elections.filter((e) => e.isLeader).length, 1, 'exactly one leader');
  const first = elections.findIndex((e) => e.isLeader);
  t.equal(await elections[0].leader(), `poold-${first}`, 'the key names the leader');

  const crashedAt = Date.now();
  await elections[first].abandon(); // no resign, no keepalives: like SIGKILL
  await until('takeover', () => elections.some((e, i) => i !== first && e.isLeader), (TTL + 3) * 1000);
  const took = Date.now() - crashedAt;
  t.ok(took <= (TTL + 1) * 1000, `takeover after ${took} ms (<= TTL + 1 s)`);
  const second = elections.findIndex((e, i) => i !== first && e.isLeader);
  t.equal(await elections[0].leader(), `poold-${second}`);
  t.equal(elections.filter((e) => e.isLeader).length, 1, 'still exactly one leader');

  const resignedAt = Date.now();
  await elections[second].stop();
  const third = 3 - first - second;
  await until('handover', () => elections[third].isLeader, 5000);
  t.ok(Date.now() - resignedAt < 1000, 'a clean resign hands over without waiting for the TTL');
  t.same(log, [`${first} leads`, `${second} leads`, `${third} leads`]);
});

t.test('a SIGKILLed leader process is replaced within TTL + 1 s', async (t) => {
  const key = keys.election('t2');
  const script = fileURLToPath(new URL('./fixtures/campaign.ts', import.meta.url));
  // Same TypeScript loader as this test process.
  const child = spawn(process.execPath, [...process.execArgv, script, etcd.clientUrl, key, 'child', String(TTL)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  await until('child leads', () => out.includes('LEADER'), 20000);

  const kv = new Etcd3Kv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  let ledAt = 0;
  const me = new Election(kv, { key, candidate: 'parent', ttlSeconds: TTL }, {
    onLeader: () => { ledAt = Date.now(); }, onFollower: () => undefined, onError: (e) => t.fail(e.message),
  });
  t.teardown(() => me.stop());
  me.start();
  await sleep(500);
  t.notOk(me.isLeader, 'follows while the child leads');
  t.equal(await me.leader(), 'child');
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await until('takeover', () => me.isLeader, (TTL + 3) * 1000);
  t.ok(ledAt - killedAt <= (TTL + 1) * 1000, `took over ${ledAt - killedAt} ms after SIGKILL`);
  t.equal(await me.leader(), 'parent');
});

t.test('a leader cut off from etcd steps down within the TTL (before etcd3 would report the lease lost)', async (t) => {
  const own = await startEtcd();
  t.teardown(() => own.stop());
  const kv = new Etcd3Kv({ endpoints: own.endpoints });
  t.teardown(() => kv.close());
  let followedAt = 0;
  const e = new Election(kv, { key: keys.election('t3'), candidate: 'x', ttlSeconds: TTL }, {
    onLeader: () => undefined, onFollower: () => { if (followedAt === 0) followedAt = Date.now(); }, onError: () => undefined,
  });
  t.teardown(() => e.abandon());
  e.start();
  await until('leads', () => e.isLeader);
  await sleep(300);
  const cutAt = Date.now();
  await own.kill();
  await until('steps down', () => !e.isLeader, (TTL + 2) * 1000);
  t.ok(followedAt - cutAt <= TTL * 1000, `stepped down ${followedAt - cutAt} ms after losing etcd`);
});

t.test('observations live on a lease: gone after a crash, re-published after a lost lease', async (t) => {
  const kv = new Etcd3Kv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const events: string[] = [];
  const pub = new ObservationPublisher(kv, keys, {
    ttlSeconds: TTL,
    onLeaseLost: (e) => events.push(`lost: ${e.message}`),
    onRepublished: (id) => events.push(`republished ${id}`),
  });
  await pub.start();
  const hk = { dc: 'eqiad', name: 'cxserver_8080', host: 'sca1001', observer: 'lvs1001' };
  const obs: Observation = { observer: 'lvs1001', up: true, reason: 'ok', code: 'ok', at: 1, flapping: false, checks: {} };
  await pub.publish(hk, obs);
  const key = keys.health(hk);
  const e1 = await kv.get(key);
  t.same(JSON.parse(e1!.value), obs);
  t.equal(e1!.lease, pub.leaseId, 'attached to the publisher\'s lease');

  // Someone revokes the lease under us: the loss is reported and the observation comes back.
  const firstLease = pub.leaseId!;
  await etcd.etcdctl(['lease', 'revoke', BigInt(firstLease).toString(16)]);
  await until('re-publish', () => events.some((e) => e.startsWith('republished')), 10000);
  t.match(events[0], /^lost: etcd lease \d+ \(ttl 2s\) was lost/);
  const e2 = await kv.get(key);
  t.equal(e2?.value, e1!.value, 'observation re-published');
  t.not(e2?.lease, firstLease, 'under a new lease');

  // A crash: keepalives stop; etcd removes the observation after the TTL.
  pub.abandon();
  await until('expiry', async () => (await kv.get(key)) === undefined, (TTL + 3) * 1000);
  t.pass('observation expired with its lease');
});
