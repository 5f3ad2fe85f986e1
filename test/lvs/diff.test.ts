// Minimal diffs: exact command sequences for the everyday changes, and a property test that runs the
// diff through the stand-in's `ipvsadm -R` and reads the table back.
import t from 'tap';
import fc from 'fast-check';
import { diffTables } from '../../src/lvs/diff.js';
import { renderCommand } from '../../src/lvs/render.js';
import { applyCommands, readTable } from '../../src/lvs/apply.js';
import { serverKey, sortTable, vsKey, type IpvsTable, type RealServer, type VirtualService, type VsId } from '../../src/lvs/table.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';
import { tableArb, toFakeState, VSS } from './lvs-arbitraries.js';

const VS: VsId = { protocol: 'tcp', address: '10.2.2.18', port: 8080 };
const rs = (n: number, weight = 10, method: RealServer['method'] = 'g'): RealServer => ({ address: `10.64.0.${n}`, port: 8080, weight, method });
const svc = (servers: RealServer[], scheduler = 'wrr'): VirtualService => ({ ...VS, scheduler, flags: [], servers });
const lines = (current: IpvsTable, desired: VirtualService[], remove: VsId[] = []) => diffTables(current, desired, remove).map(renderCommand);

t.test('everyday changes produce exactly the commands needed', async (t) => {
  const base = { services: [svc([rs(1), rs(2), rs(3)])] };
  t.same(lines(base, [svc([rs(1), rs(2), rs(3)])]), [], 'no change, no command (PyBal would -e every server)');
  t.same(lines(base, [svc([rs(1), rs(3)])]), ['-d -t 10.2.2.18:8080 -r 10.64.0.2'], 'depool');
  t.same(lines(base, [svc([rs(1), rs(2), rs(3), rs(4)])]), ['-a -t 10.2.2.18:8080 -r 10.64.0.4 -w 10'], 'pool');
  t.same(lines(base, [svc([rs(1), rs(2, 25), rs(3)])]), ['-e -t 10.2.2.18:8080 -r 10.64.0.2 -w 25'], 'weight change');
  t.same(lines(base, [svc([rs(1), rs(2, 0), rs(3)])]), ['-e -t 10.2.2.18:8080 -r 10.64.0.2 -w 0'], 'drain is weight 0');
  t.same(lines(base, [svc([rs(1), rs(2, 10, 'm'), rs(3)])]), ['-e -t 10.2.2.18:8080 -r 10.64.0.2 -m -w 10'], 'method change');
  t.same(lines(base, [svc([rs(1), rs(2), rs(3)], 'sh')]), ['-E -t 10.2.2.18:8080 -s sh'], 'scheduler change is -E, never -D/-A');
  t.same(lines(base, [svc([rs(4), rs(2, 5)])]), [
    '-a -t 10.2.2.18:8080 -r 10.64.0.4 -w 10',
    '-e -t 10.2.2.18:8080 -r 10.64.0.2 -w 5',
    '-d -t 10.2.2.18:8080 -r 10.64.0.1',
    '-d -t 10.2.2.18:8080 -r 10.64.0.3',
  ], 'adds, then edits, then deletes: the pool never transits through empty');
  t.same(lines({ services: [] }, [svc([rs(2), rs(1)])]), [
    '-A -t 10.2.2.18:8080 -s wrr',
    '-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 10',
    '-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10',
  ], 'new service');
  t.same(lines(base, [svc([])]), [
    '-d -t 10.2.2.18:8080 -r 10.64.0.1', '-d -t 10.2.2.18:8080 -r 10.64.0.2', '-d -t 10.2.2.18:8080 -r 10.64.0.3',
  ], 'an emptied pool loses its servers but keeps its virtual service');
});

t.test('services outside desired are untouched unless listed for removal', async (t) => {
  const other: VirtualService = { protocol: 'udp', address: '2620::1', port: 53, scheduler: 'rr', flags: [], servers: [{ address: '2620::5', port: 53, weight: 1, method: 'g' }] };
  const current = { services: [svc([rs(1)]), other] };
  t.same(lines(current, [svc([rs(1)])]), [], 'a hand-made service is left alone');
  t.same(lines(current, [svc([rs(1)])], [other]), ['-D -u [2620::1]:53'], 'a service we no longer want is deleted');
  t.same(lines(current, [svc([rs(1)])], [VS, { protocol: 'tcp', address: '10.9.9.9', port: 1 }]), [],
    'never deletes a wanted service, nor one that is not there');
});

// ---- property: diff applied by ipvsadm -R gives exactly the desired table ----

t.test('property: applying the diff yields desired, and unchanged servers get no command', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  await fc.assert(
    fc.asyncProperty(tableArb(), tableArb(), fc.array(fc.constantFrom(...VSS), { maxLength: 3 }), async (current, desired, remove) => {
      f.setRaw(toFakeState(current));
      const cmds = diffTables(current, desired.services, remove);
      await applyCommands(f.opts, cmds);
      const after = await readTable(f.opts);
      const wanted = new Set(desired.services.map(vsKey));
      const removed = new Set(remove.map(vsKey));
      const expected = sortTable({
        services: [...desired.services, ...current.services.filter((s) => !wanted.has(vsKey(s)) && !removed.has(vsKey(s)))],
      });
      t.same(after, expected, 'table after -R is desired plus the untouched unmanaged services');
      // Minimality: one command per changed server, one per service added/edited/removed, nothing else.
      let needed = 0;
      for (const d of desired.services) {
        const c = current.services.find((s) => vsKey(s) === vsKey(d));
        if (!c || c.scheduler !== d.scheduler) needed++;
        const have = new Map((c?.servers ?? []).map((s) => [serverKey(s), s]));
        for (const s of d.servers) {
          const h = have.get(serverKey(s));
          if (!h || h.weight !== s.weight || h.method !== s.method) needed++;
          have.delete(serverKey(s));
        }
        needed += have.size;
      }
      needed += current.services.filter((s) => removed.has(vsKey(s)) && !wanted.has(vsKey(s))).length;
      t.equal(cmds.length, needed, 'no command beyond the differences');
      for (const d of desired.services) {
        const c = current.services.find((s) => vsKey(s) === vsKey(d));
        for (const s of d.servers) {
          const same = c?.servers.some((h) => h.address === s.address && h.weight === s.weight && h.method === s.method);
          if (same) t.notOk(cmds.some((cmd) => 'server' in cmd && cmd.vs.port === d.port && cmd.server.address === s.address && vsKey(cmd.vs) === vsKey(d)),
            `unchanged ${s.address} in ${vsKey(d)} gets no command`);
        }
      }
    }),
    { numRuns: 15 },
  );
});
