// A leader whose event loop stalls (a loaded machine): its lease watchdog declares the lease lost,
// the election campaigns again under a new lease, and must end up leading again, never following
// a stale election key that names this very instance (seen once while benchmarking at eqiad's size:
// poold followed itself forever). Real etcd; the stall is a real busy loop on this process's loop.
import t, { type Test } from 'tap';
import { startEtcd } from '../helpers/etcd.js';
import { Etcd3Kv } from '../../src/store/kv-etcd3.js';
import { Election } from '../../src/store/election.js';
import { Keys } from '../../src/store/keys.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
/** Blocks this process's event loop, as a long synchronous job on a busy machine does. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* spin */ }
}

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const keys = new Keys();
const TTL = 2;

/** An election for candidate 'bench' on its own etcd connection (closed at the end of `t`), not started; its errors collected. */
function election(t: Test, name: string, ttlSeconds = TTL, onFollower: () => void = () => undefined) {
  const kv = new Etcd3Kv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const key = keys.election(name);
  const errors: string[] = [];
  const e = new Election(kv, { key, candidate: 'bench', ttlSeconds }, { onLeader: () => undefined, onFollower, onError: (err) => errors.push(err.message) });
  return { kv, key, errors, e };
}

/** Leases etcd holds right now (decimal ids). */
async function liveLeases(): Promise<string[]> {
  const out = await etcd.etcdctl(['lease', 'list']);
  return out.split('\n').filter((l) => /^[0-9a-f]+$/.test(l.trim())).map((l) => BigInt(`0x${l.trim()}`).toString());
}

// 1.8 s: usually past the watchdog (TTL - margin after the last confirmed keepalive, sent up to TTL/3 earlier)
// while etcd still holds the lease; 2.6 s: past the TTL, etcd expires the lease and deletes the key
// while we are blocked, so the watchdog and the key's deletion are both seen on waking.
for (const stallMs of [1800, 2600]) {
  t.test(`a leader stalled ${stallMs} ms leads again, under one live lease`, async (t) => {
    const { kv, key, errors, e } = election(t, `stall-${stallMs}`);
    t.teardown(() => e.stop());
    e.start();
    await until('leads', () => e.isLeader, 10000);
    await sleep(TTL * 1000); // keepalives running

    const before = (await kv.get(key))!.lease;
    busy(stallMs);
    const woke = Date.now();
    const ttlLeft = await etcd.etcdctl(['lease', 'timetolive', BigInt(before).toString(16)]);
    t.comment(`old lease on waking: ${ttlLeft.trim()}`);
    // Leading again within the TTL (the stale key, if any, expires by then) plus slack for a loaded machine.
    await until('leads again', () => e.isLeader, (TTL + 3) * 1000).catch(async (err: Error) => {
      const holder = await kv.get(key);
      throw new Error(`${err.message}; key names ${holder?.value} on lease ${holder?.lease}`);
    });
    t.comment(`leader again ${Date.now() - woke} ms after the stall (lease ${(await kv.get(key))?.lease}, was ${before})`);
    // And stays leader: it does not keep a stale key of its own alive and follow it.
    await sleep(TTL * 2 * 1000);
    t.ok(e.isLeader, 'still leader two TTLs later');
    const holder = await kv.get(key);
    t.equal(holder?.value, 'bench', 'the key names this instance');
    // Every lease this process granted but no longer uses has ended: the key's lease is the only one.
    await until('only the current lease lives', async () => {
      const live = await liveLeases();
      return live.length === 1 && live[0] === holder?.lease;
    }, (TTL + 3) * 1000).catch(async (err: Error) => {
      throw new Error(`${err.message}: live ${JSON.stringify(await liveLeases())}, key on ${holder?.lease}`);
    });
    t.same(errors, [], 'no election errors');
  });
}

// The case seen in the benchmark. The stall trips the watchdog: campaign A grants a new lease, and
// on a loaded machine etcd's reply is slow (injected here at the seam the code uses, kv.client.lease).
// Meanwhile the released old lease expires, its key is deleted, and the watch starts campaign B while
// A is still waiting. Before the fix B ran concurrently: it granted yet another lease, won, and A then
// overwrote the election's lease with its own, so the key was on a lease this process kept alive but
// no longer called its own: a follower of itself, forever.
t.test('a slow lease grant after a stall does not leave the instance following its own key', async (t) => {
  const { kv, key, errors, e } = election(t, 'slow-grant');
  t.teardown(() => e.stop());
  e.start();
  await until('leads', () => e.isLeader, 10000);
  await sleep(TTL * 1000);

  let slowGrants = 0;
  const realLease = kv.client.lease.bind(kv.client);
  kv.client.lease = ((...args: Parameters<typeof realLease>) => {
    const lease = realLease(...args);
    if (slowGrants++ === 0) {
      const realGrant = lease.grant.bind(lease);
      // Only the first call, KeptLease's, is slow (etcd3's keepalives call grant() too). Longer than
      // the TTL: the old lease, no longer kept alive, expires meanwhile.
      let calls = 0;
      lease.grant = () => (calls++ > 0 ? realGrant() : realGrant().then(async (id) => { await sleep((TTL + 1) * 1000); return id; }));
    }
    return lease;
  }) as typeof kv.client.lease;
  t.teardown(() => { kv.client.lease = realLease; });

  busy(TTL * 1000); // always trips the watchdog (TTL - margin after a keepalive sent up to TTL/3 earlier)
  await until('the slow grant', () => slowGrants > 0, 5000);
  await until('leads again', () => e.isLeader, (TTL + 4) * 1000).catch(async (err: Error) => {
    const holder = await kv.get(key);
    throw new Error(`${err.message}; key names ${holder?.value} on lease ${holder?.lease}`);
  });
  await sleep(TTL * 2 * 1000);
  t.ok(e.isLeader, 'still leader two TTLs later');
  const holder = await kv.get(key);
  t.equal(holder?.value, 'bench');
  await until('only the current lease lives', async () => {
    const live = await liveLeases();
    return live.length === 1 && live[0] === holder?.lease;
  }, (TTL + 3) * 1000).catch(async (err: Error) => {
    throw new Error(`${err.message}: live ${JSON.stringify(await liveLeases())}, key on ${holder?.lease}`);
  });
  t.same(errors, [], 'no election errors');
});

// The watchdog's false positive on its own: etcd receives every keepalive, but their confirmations
// are withheld from KeptLease (as on a loop too busy to read them), so it declares the lease lost
// while etcd holds it. The key on that lease must not make the instance follow itself until the old
// lease runs out (up to the TTL): the lease is revoked, or, when the revoke fails, the key is deleted.
for (const revokeFails of [false, true]) {
  t.test(`lease declared lost while etcd holds it (revoke ${revokeFails ? 'fails' : 'works'}): leads again at once`, async (t) => {
    const ttl = 4; // long enough that the old lease would outlive the assertion's bound by far
    let followedAt = 0;
    const { kv, key, errors, e } = election(t, `false-positive-${revokeFails}`, ttl, () => { if (followedAt === 0) followedAt = Date.now(); });
    let withhold = false;
    let first = true;
    const realLease = kv.client.lease.bind(kv.client);
    kv.client.lease = ((...args: Parameters<typeof realLease>) => {
      const lease = realLease(...args);
      if (!first) return lease;
      first = false;
      const realEmit = lease.emit.bind(lease);
      lease.emit = ((ev: string, ...rest: unknown[]) => (withhold && ev === 'keepaliveSucceeded' ? false : realEmit(ev, ...rest))) as typeof lease.emit;
      if (revokeFails) lease.revoke = () => Promise.reject(new Error('injected: etcd unreachable for the revoke'));
      return lease;
    }) as typeof kv.client.lease;
    t.teardown(() => { kv.client.lease = realLease; });
    t.teardown(() => e.stop());
    e.start();
    await until('leads', () => e.isLeader, 10000);
    const old = (await kv.get(key))!.lease;
    withhold = true;
    await until('the watchdog declares the lease lost', () => followedAt > 0, (ttl + 2) * 1000);
    await until('leads again', () => e.isLeader, (ttl + 3) * 1000);
    const lapse = Date.now() - followedAt;
    t.comment(`led again ${lapse} ms after the watchdog's false positive`);
    t.ok(lapse < (ttl * 1000) / 3, `led again ${lapse} ms after stepping down (the old lease had >= ${Math.round((ttl * 2000) / 3)} ms left)`);
    const holder = await kv.get(key);
    t.not(holder?.lease, old, 'under a new lease');
    t.equal(holder?.value, 'bench');
    if (revokeFails) t.match(errors, [/could not revoke lost election lease .*injected: etcd unreachable/], 'the failed revoke is reported');
    else t.same(errors, [], 'no election errors');
  });
}
