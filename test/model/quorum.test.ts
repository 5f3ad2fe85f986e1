import t from 'tap';
import fc from 'fast-check';
import { decideHealth, votesNeeded, QuorumInputError, type QuorumObservation } from '../../src/model/quorum.js';

const obs = (observer: string, up: boolean, reason = up ? 'ok' : 'refused', at = 10, extra: Partial<QuorumObservation> = {}): QuorumObservation => ({
  observer,
  up,
  reason,
  at,
  ...extra,
});

t.test('majority of live observers decides', async (t) => {
  const live = ['poold-a', 'poold-b', 'poold-c'];
  const v = decideHealth([obs('poold-a', true), obs('poold-b', true), obs('poold-c', false, 'status 404 (expected 200)')], live);
  t.match(v, { up: true, decided: true, needed: 2, upVotes: ['poold-a', 'poold-b'], downVotes: ['poold-c'], code: 'ok' });
  t.equal(v?.reason, 'ok (up on 2 of 3 observers; dissenting: poold-c: status 404 (expected 200))');

  const d = decideHealth(
    [obs('poold-a', false, 'refused', 10, { code: 'refused' }), obs('poold-b', true), obs('poold-c', false, 'refused', 11, { code: 'refused' })],
    live,
  );
  t.match(d, { up: false, code: 'refused', at: 11, needed: 2 });
  t.equal(d?.reason, 'refused (1 of 3 observers see it up, 2 needed; dissenting: poold-b)');
});

t.test('unanimous verdicts have plain reasons; different reasons are attributed', async (t) => {
  t.equal(decideHealth([obs('a', false, 'refused'), obs('b', false, 'refused')], ['a', 'b'])?.reason, 'refused');
  t.equal(decideHealth([obs('b', false, 'reset'), obs('a', false, 'refused')], ['a', 'b'])?.reason, 'a: refused; b: reset');
  t.equal(decideHealth([obs('a', true, 'ok')], ['a'])?.reason, 'ok');
});

t.test('majority: down needs a strict majority of down votes, so a 1-1 tie is up', async (t) => {
  const v = decideHealth([obs('a', true), obs('b', false)], ['a', 'b']);
  t.match(v, { up: true, needed: 1, upVotes: ['a'], downVotes: ['b'] });
  t.equal(v?.reason, 'ok (up on 1 of 2 observers; dissenting: b: refused)');
  const four = decideHealth([obs('a', true), obs('b', true), obs('c', false), obs('d', false)], ['a', 'b', 'c', 'd']);
  t.equal(four?.up, true, '2-2 is a tie: up');
  const three = decideHealth([obs('a', true), obs('b', false), obs('c', false)], ['a', 'b', 'c']);
  t.equal(three?.up, false, '2 of 3 down is a strict majority: down');
});

t.test('observations of dead observers do not vote', async (t) => {
  const v = decideHealth([obs('a', true), obs('dead1', false), obs('dead2', false)], ['a', 'b']);
  t.match(v, { up: true, upVotes: ['a'], downVotes: [] });
  t.equal(v?.reason, 'ok');
});

t.test('no live observation: keep the previous verdict (fail-static), or null', async (t) => {
  const prev = { up: false, reason: 'refused', code: 'refused' as const, at: 5 };
  const v = decideHealth([obs('dead', true)], ['a'], prev);
  t.match(v, { up: false, reason: 'refused', decided: false, at: 5, code: 'refused' });
  t.equal(decideHealth([], ['a']), null);
  t.equal(decideHealth([obs('a', true)], [], undefined), null);
});

t.test('stale observations do not vote when maxAgeMs is given', async (t) => {
  const v = decideHealth([obs('a', false, 'refused', 1), obs('b', true, 'ok', 100)], ['a', 'b'], undefined, { now: 100, maxAgeMs: 10 });
  t.match(v, { up: true, upVotes: ['b'], downVotes: [] });
});

t.test('integer quorum: at least N up, capped at the number of voters', async (t) => {
  t.equal(votesNeeded(1, 3), 1);
  t.equal(votesNeeded(2, 1), 1);
  t.equal(votesNeeded('majority', 4), 2);
  t.equal(votesNeeded('majority', 5), 3);
  t.equal(votesNeeded('majority', 1), 1);
  const live = ['a', 'b', 'c'];
  t.equal(decideHealth([obs('a', true), obs('b', false), obs('c', false)], live, undefined, { quorum: 1 })?.up, true);
  t.equal(decideHealth([obs('a', true), obs('b', false), obs('c', false)], live, undefined, { quorum: 2 })?.up, false);
  t.equal(decideHealth([obs('a', true)], live, undefined, { quorum: 2 })?.up, true, 'a lone voter decides');
  t.throws(() => decideHealth([], live, undefined, { quorum: 0 }), QuorumInputError);
  t.throws(() => decideHealth([], live, undefined, { quorum: 1.5 }), { message: "quorum must be 'majority' or an integer >= 1, got 1.5" });
});

t.test('one vote per observer: the latest, and down on a tie in time', async (t) => {
  t.equal(decideHealth([obs('a', false, 'refused', 1), obs('a', true, 'ok', 2)], ['a'])?.up, true);
  t.equal(decideHealth([obs('a', true, 'ok', 2), obs('a', false, 'refused', 2)], ['a'])?.up, false);
});

t.test('flapping and findings are merged from the voters', async (t) => {
  const f = { code: 'unclosed' as const, message: 'server did not close after Connection: close', severity: 'warning' as const };
  const check = { up: true, code: 'ok' as const, message: 'ok', timings: { totalMs: 3 }, findings: [f] };
  const v = decideHealth(
    [obs('a', true, 'ok', 1, { flapping: true, checks: { http: check } }), obs('b', true, 'ok', 1, { checks: { http: check } })],
    ['a', 'b'],
  );
  t.equal(v?.flapping, true);
  t.same(v?.findings, [f], 'deduplicated');
});

t.test('properties: order does not matter, dead observers never count, verdict follows the vote count', async (t) => {
  const observers = ['poold-a', 'poold-b', 'poold-c', 'poold-d', 'poold-e'];
  fc.assert(
    fc.property(
      fc.array(fc.record({ observer: fc.constantFrom(...observers, 'dead1', 'dead2'), up: fc.boolean(), at: fc.integer({ min: 0, max: 5 }) }), { maxLength: 12 }),
      fc.subarray(observers),
      fc.oneof(fc.constant('majority' as const), fc.integer({ min: 1, max: 5 })),
      (raw, live, quorum) => {
        const list = raw.map((r) => obs(r.observer, r.up, r.up ? 'ok' : 'refused', r.at));
        const v = decideHealth(list, live, { up: true, reason: 'prev' }, { quorum });
        const rev = decideHealth([...list].reverse(), [...live].reverse(), { up: true, reason: 'prev' }, { quorum });
        if (JSON.stringify(v) !== JSON.stringify(rev)) throw new Error('order matters');
        const withoutDead = decideHealth(list.filter((o) => live.includes(o.observer)), live, { up: true, reason: 'prev' }, { quorum });
        if (JSON.stringify(v) !== JSON.stringify(withoutDead)) throw new Error('dead observers changed the verdict');
        if (v === null) throw new Error('a previous verdict exists');
        const voters = new Set(list.filter((o) => live.includes(o.observer)).map((o) => o.observer));
        if (voters.size === 0) {
          if (v.decided || v.reason !== 'prev') throw new Error('must keep the previous verdict');
          return;
        }
        if (v.upVotes.length + v.downVotes.length !== voters.size) throw new Error('one vote per live observer');
        if (v.up !== v.upVotes.length >= votesNeeded(quorum, voters.size)) throw new Error('verdict does not follow the votes');
        const dissenters = v.up ? v.downVotes : v.upVotes;
        for (const d of dissenters) if (!v.reason.includes(d)) throw new Error(`reason does not name dissenting ${d}`);
      },
    ),
    { numRuns: 500 },
  );
  t.pass('500 random vote sets');
});
