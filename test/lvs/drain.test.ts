// planDrains on its own: which servers stay at weight 0, for how long, and what cancels a drain.
import t from 'tap';
import { planDrains, type DrainRecord } from '../../src/lvs/drain.js';
import type { IpvsTable, RealServer, VirtualService } from '../../src/lvs/table.js';

const VS = 'tcp 10.2.2.18:8080';
const rs = (address: string, weight = 10, method: RealServer['method'] = 'g'): RealServer => ({ address, port: 8080, method, weight });
const vs = (servers: RealServer[]): VirtualService => ({ protocol: 'tcp', address: '10.2.2.18', port: 8080, scheduler: 'wrr', flags: [], servers });
const table = (servers: RealServer[]): IpvsTable => ({ services: [vs(servers)] });
const input = (ms: number) => ({
  drainMs: new Map([[VS, ms]]),
  services: new Map([[VS, 'eqiad/sca/cxserver']]),
  hosts: new Map([[`${VS} 10.64.0.2:8080`, 'sca1002.eqiad.wmnet']]),
});

t.test('a server leaving the pool stays at weight 0 (its own method kept) until the period ends, then is left to the diff to delete', async (t) => {
  const current = table([rs('10.64.0.1'), rs('10.64.0.2', 10, 'i')]);
  const desired = [vs([rs('10.64.0.1')])];
  const p1 = planDrains(current, desired, input(30_000), new Map(), 1_000);
  t.same(p1.services[0].servers, [rs('10.64.0.1'), rs('10.64.0.2', 0, 'i')]);
  t.same(p1.started, [{ service: 'eqiad/sca/cxserver', vs: VS, server: '10.64.0.2:8080', host: 'sca1002.eqiad.wmnet', since: 1_000, until: 31_000 }]);
  t.equal(p1.nextExpiry, 31_000);
  // Later runs keep the same record (the period is not restarted by another change).
  const p2 = planDrains(table([rs('10.64.0.1'), rs('10.64.0.2', 0, 'i')]), desired, input(30_000), p1.draining, 20_000);
  t.same(p2.started, []);
  t.same([...p2.draining.values()], p1.started);
  t.same(p2.services[0].servers, [rs('10.64.0.1'), rs('10.64.0.2', 0, 'i')]);
  // At the end of the period the server is no longer kept: the diff deletes it.
  const p3 = planDrains(table([rs('10.64.0.1'), rs('10.64.0.2', 0, 'i')]), desired, input(30_000), p2.draining, 31_000);
  t.same(p3.services[0].servers, [rs('10.64.0.1')]);
  t.same(p3.expired, p1.started);
  t.equal(p3.draining.size, 0);
  t.equal(p3.nextExpiry, undefined);
});

t.test('a repool during the drain cancels it; no drain period means nothing is kept', async (t) => {
  const current = table([rs('10.64.0.1'), rs('10.64.0.2')]);
  const p1 = planDrains(current, [vs([rs('10.64.0.1')])], input(30_000), new Map(), 0);
  const back = [vs([rs('10.64.0.1'), rs('10.64.0.2', 7)])];
  const p2 = planDrains(table([rs('10.64.0.1'), rs('10.64.0.2', 0)]), back, input(30_000), p1.draining, 5_000);
  t.same(p2.cancelled.map((d) => d.server), ['10.64.0.2:8080']);
  t.same(p2.services, back, 'the desired weight is untouched: the diff restores it');
  t.equal(p2.draining.size, 0);
  const off = planDrains(current, [vs([rs('10.64.0.1')])], input(0), new Map(), 0);
  t.same(off.services[0].servers, [rs('10.64.0.1')]);
  t.equal(off.draining.size, 0);
});

t.test('drains of a service left out of the run (skipped) are kept; a server removed by hand ends its drain', async (t) => {
  const rec: DrainRecord = { service: 'eqiad/sca/cxserver', vs: VS, server: '10.64.0.2:8080', since: 0, until: 30_000 };
  const prev = new Map([[`${VS} 10.64.0.2:8080`, rec]]);
  const skipped = planDrains(table([rs('10.64.0.1'), rs('10.64.0.2', 0)]), [], input(30_000), prev, 10_000);
  t.same([...skipped.draining.values()], [rec]);
  t.equal(skipped.nextExpiry, undefined, 'no timer for a service that is not being reconciled');
  const gone = planDrains(table([rs('10.64.0.1')]), [vs([rs('10.64.0.1')])], input(30_000), prev, 10_000);
  t.equal(gone.draining.size, 0);
  t.same(gone.cancelled, []);
});
