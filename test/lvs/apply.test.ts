// Applying commands with `ipvsadm -R`, reading the table back, and the typed errors.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyAndVerify, applyCommands, readTable } from '../../src/lvs/apply.js';
import { IpvsadmError, LvsVerifyError } from '../../src/lvs/errors.js';
import type { IpvsCommand } from '../../src/lvs/render.js';
import type { VirtualService, VsId } from '../../src/lvs/table.js';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';

const VS: VsId = { protocol: 'tcp', address: '10.2.2.18', port: 8080 };
const server = (n: number, weight = 10) => ({ address: `10.64.0.${n}`, port: 8080, weight, method: 'g' as const });
const desired = (servers: ReturnType<typeof server>[]): VirtualService => ({ ...VS, scheduler: 'wrr', flags: [], servers });

/** The error `p` rejects with, which must be a `cls`; fails the test otherwise. */
async function rejects<E extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => E): Promise<E> {
  const outcome = await p.then(() => undefined, (e: unknown) => e);
  if (!(outcome instanceof cls)) throw new Error(`expected ${cls.name}, got ${String(outcome)}`);
  return outcome;
}

t.test('commands go to ipvsadm -R on stdin, one per line; the table reads back', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  const cmds: IpvsCommand[] = [
    { op: 'add-service', vs: VS, scheduler: 'wrr' },
    { op: 'add-server', vs: VS, server: server(1) },
    { op: 'add-server', vs: VS, server: server(2, 0) },
  ];
  const after = await applyAndVerify(f.opts, cmds, [desired([server(1), server(2, 0)])]);
  t.same(after.services, [desired([server(1), server(2, 0)])]);
  t.same(f.log().map((e) => [e.argv, e.stdin]), [
    [['-R'], '-A -t 10.2.2.18:8080 -s wrr\n-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 10\n-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 0\n'],
    [['-S', '-n'], ''],
  ], 'one -R with all commands, then one -S -n to verify');
  f.clearLog();
  await applyCommands(f.opts, []);
  t.same(f.log(), [], 'nothing to do runs nothing');
});

t.test('a kernel error hidden behind exit 0 is still an error naming the failed line', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  await applyCommands(f.opts, [{ op: 'add-service', vs: VS, scheduler: 'wrr' }]);
  const err = await rejects(applyCommands(f.opts, [
    { op: 'add-server', vs: VS, server: server(1) },
    { op: 'edit-server', vs: VS, server: server(9) },
    { op: 'add-server', vs: VS, server: server(2) },
  ]), IpvsadmError);
  t.equal(err.detail.exitCode, 0, 'ipvsadm exited 0 (status of the last line)');
  t.equal(err.detail.stderr, 'No such destination\n');
  t.equal(err.detail.failedCommand, '-e -t 10.2.2.18:8080 -r 10.64.0.9 -w 10');
  t.match(err.message, /-R failed at "-e -t 10.2.2.18:8080 -r 10.64.0.9 -w 10" \(exit 0\): No such destination/);
  t.equal(err.detail.commands?.length, 3, 'all commands are in the error for the log');
});

t.test('an argument error stops ipvsadm; the error names that line', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  const err = await rejects(applyCommands(f.opts, [
    { op: 'add-service', vs: VS, scheduler: 'wrr' },
    { op: 'add-server', vs: VS, server: server(1, 70000) },
    { op: 'add-server', vs: VS, server: server(2) },
  ]), IpvsadmError);
  t.equal(err.detail.exitCode, 2);
  t.equal(err.detail.failedCommand, '-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 70000');
  t.match(err.message, /illegal weight specified/);
  t.same((await readTable(f.opts)).services[0]?.servers, [], 'lines after the bad one were not applied');
});

t.test('missing binary, timeout, unreadable output', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  const missing = await rejects(readTable({ path: join(f.dir, 'no-such-ipvsadm') }), IpvsadmError);
  t.match(missing.message, /cannot run .*no-such-ipvsadm: .*ENOENT/);
  const slow = await rejects(readTable({ ...f.opts, env: { ...f.env, FAKE_IPVSADM_DELAY_MS: '5000' }, timeoutMs: 300 }), IpvsadmError);
  t.match(slow.message, /timed out after 300 ms/);
  const garbage = join(f.dir, 'garbage-ipvsadm');
  writeFileSync(garbage, '#!/bin/sh\necho "Memory allocation problem" >&2\nexit 1\n', { mode: 0o755 });
  const bad = await rejects(readTable({ path: garbage }), IpvsadmError);
  t.match(bad.message, /-S -n failed \(exit 1\): Memory allocation problem/);
});

t.test('verification catches an ipvsadm that silently did nothing', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  const lazy = join(f.dir, 'lazy-ipvsadm');
  writeFileSync(lazy, `#!/bin/sh\nif [ "$1" = -R ]; then cat >/dev/null; exit 0; fi\nexec '${f.path}' "$@"\n`, { mode: 0o755 });
  const err = await rejects(applyAndVerify({ ...f.opts, path: lazy }, [{ op: 'add-service', vs: VS, scheduler: 'wrr' }], [desired([])]), LvsVerifyError);
  t.same(err.differences, ['tcp 10.2.2.18:8080: virtual service missing']);
});
