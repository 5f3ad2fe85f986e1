// The recording stand-in on its own: it must behave like ipvsadm 1.31 for the subset we use, or the
// agent tests prove nothing.
import t from 'tap';
import { fakeIpvsadm } from './fake-ipvsadm-helper.js';

const HEADER =
  'IP Virtual Server version 1.2.1 (size=4096)\n' +
  'Prot LocalAddress:Port Scheduler Flags\n' +
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';

t.test('restore, list and save in ipvsadm layout', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  const stdin = [
    '-A -t 10.2.2.18:8080 -s wrr',
    '-a -t 10.2.2.18:8080 -r 10.64.0.2 -w 10',
    '-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 0',
    '-A -u [2620:0:861:0::1]:53 -s rr',
    '-a -u [2620:0:861::1]:53 -r 2620:0:0::5 -m -w 3',
    '-A -t 10.2.2.1:443 -s sh',
    '-a -t 10.2.2.1:443 -r 10.64.0.9 -i -w 1',
    '',
  ].join('\n');
  const r = f.run(['-R'], stdin);
  t.same(r, { status: 0, stdout: '', stderr: '' }, 'restore succeeds silently');
  t.equal(f.run(['-Ln']).stdout,
    HEADER +
    'TCP  10.2.2.1:443 sh\n' +
    '  -> 10.64.0.9:443                Tunnel  1      0          0         \n' +
    'TCP  10.2.2.18:8080 wrr\n' +
    '  -> 10.64.0.1:8080               Route   0      0          0         \n' +
    '  -> 10.64.0.2:8080               Route   10     0          0         \n' +
    'UDP  [2620:0:861::1]:53 rr\n' +
    '  -> [2620::5]:53                 Masq    3      0          0         \n',
    'listing: sorted by family, protocol, address; padded columns; canonical IPv6');
  const save =
    '-A -t 10.2.2.1:443 -s sh\n' +
    '-a -t 10.2.2.1:443 -r 10.64.0.9:443 -i -w 1\n' +
    '-A -t 10.2.2.18:8080 -s wrr\n' +
    '-a -t 10.2.2.18:8080 -r 10.64.0.1:8080 -g -w 0\n' +
    '-a -t 10.2.2.18:8080 -r 10.64.0.2:8080 -g -w 10\n' +
    '-A -u [2620:0:861::1]:53 -s rr\n' +
    '-a -u [2620:0:861::1]:53 -r [2620::5]:53 -m -w 3\n';
  t.equal(f.run(['-S', '-n']).stdout, save, '-S -n');
  t.equal(f.run(['--save', '-n']).stdout, save, '--save -n');
  t.equal(f.run(['-Sn']).stdout, save, 'bundled short options');
  t.equal(f.run(['-L', '-n', '-t', '10.2.2.1:443']).stdout,
    'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
    'TCP  10.2.2.1:443 sh\n  -> 10.64.0.9:443                Tunnel  1      0          0         \n', 'listing one service');

  t.same(f.run(['-e', '-t', '10.2.2.18:8080', '-r', '10.64.0.2']), { status: 0, stdout: '', stderr: '' });
  t.match(f.run(['-S', '-n']).stdout, '-r 10.64.0.2:8080 -g -w 1\n', '-e without -w resets the weight to 1, as ipvsadm does');
  f.run(['-E', '-t', '10.2.2.18:8080', '-s', 'sh']);
  f.run(['-d', '-t', '10.2.2.18:8080', '-r', '10.64.0.1']);
  f.run(['-D', '-u', '[2620:0:861::1]:53']);
  t.equal(f.run(['-S', '-n']).stdout,
    '-A -t 10.2.2.1:443 -s sh\n-a -t 10.2.2.1:443 -r 10.64.0.9:443 -i -w 1\n-A -t 10.2.2.18:8080 -s sh\n-a -t 10.2.2.18:8080 -r 10.64.0.2:8080 -g -w 1\n',
    '-E changes the scheduler and keeps the servers; -d and -D delete');
  f.run(['-C']);
  t.equal(f.run(['-Ln']).stdout, HEADER, '-C clears');
});

t.test('argument errors exit 2 at once, like ipvsadm', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  const cases: [string[], string, number][] = [
    [['-a', '-t', '10.0.0.1:80', '-w', '1'], "You need to supply the 'real-server' option for the 'add-server' command\n", 2],
    [['-A', '-t', '10.0.0.1:80', '-w', '1'], "Illegal 'weight' option with the 'add-service' command\n", 2],
    [['-A', '-t', '10.0.0.300:80'], 'illegal virtual server address[:port] specified\n', 2],
    [['-a', '-t', '10.0.0.1:80', '-r', 'nope'], 'illegal real server address[:port] specified\n', 2],
    [['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-w', '65536'], 'illegal weight specified\n', 2],
    [['-A', '-t', '10.0.0.1'], 'Zero port specified for non-persistent service\n', 2],
    [['-A', '-D', '-t', '10.0.0.1:80'], 'multiple commands specified\n', 2],
    [['-A', '-t', '10.0.0.1:80', '-o'], 'One-Packet Scheduling is only for UDP virtual services\n', 2],
    [['-a', '-t', '10.0.0.1:80', '-r', '2620::1'], 'Different address family is allowed only for tunneling servers\n', 2],
    [['-X'], "-X: unknown option\nTry `fake-ipvsadm -h' or 'fake-ipvsadm --help' for more information.\n", 255],
  ];
  for (const [args, stderr, status] of cases) {
    const r = f.run(args);
    t.same({ status: r.status, stderr: r.stderr }, { status, stderr }, args.join(' '));
  }
  t.equal(f.run(['-S', '-n']).stdout, '', 'nothing was applied');
});

t.test('in -R mode an argument error stops at that line; kernel errors carry on', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  let r = f.run(['-R'], '-A -t 10.0.0.1:80 -s wrr\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w x\n-a -t 10.0.0.1:80 -r 10.0.0.3 -w 1\n');
  t.same({ status: r.status, stderr: r.stderr }, { status: 2, stderr: 'illegal weight specified\n' });
  t.equal(f.run(['-S', '-n']).stdout, '-A -t 10.0.0.1:80 -s wrr\n', 'lines before the bad one stay applied, later ones are not run');

  r = f.run(['-R'], '-a -t 10.0.0.1:80 -r 10.0.0.2 -w 1\n-e -t 10.0.0.1:80 -r 10.0.0.9 -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.3 -w 2\n');
  t.same({ status: r.status, stderr: r.stderr }, { status: 0, stderr: 'No such destination\n' },
    'a kernel error is printed but the exit status is that of the last line (ipvsadm quirk)');
  t.equal(f.run(['-S', '-n']).stdout, '-A -t 10.0.0.1:80 -s wrr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 2\n');

  r = f.run(['-R'], '-a -t 10.0.0.1:80 -r 10.0.0.2 -w 1\n');
  t.same({ status: r.status, stderr: r.stderr }, { status: 255, stderr: 'Destination already exists\n' });
  const kernel: [string, string][] = [
    ['-A -t 10.0.0.1:80 -s wrr', 'Service already exists'],
    ['-A -t 10.0.0.5:80 -s bogus', 'Scheduler or persistence engine not found'],
    ['-E -t 10.0.0.5:80 -s rr', 'No such service'],
    ['-D -t 10.0.0.5:80', 'No such service'],
    ['-a -t 10.0.0.5:80 -r 10.0.0.2 -w 1', 'Service not defined'],
    ['-d -t 10.0.0.1:80 -r 10.0.0.7', 'No such destination'],
  ];
  for (const [line, msg] of kernel) {
    r = f.run(['-R'], `${line}\n`);
    t.same({ status: r.status, stderr: r.stderr }, { status: 255, stderr: `${msg}\n` }, line);
  }
});

t.test('every invocation is logged with argv, stdin, status and times', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  f.run(['-R'], '-A -t 10.0.0.1:80 -s wrr\n');
  f.run(['-S', '-n']);
  f.run(['-a', '-t', '10.0.0.1:80']);
  const log = f.log();
  t.same(log.map((e) => [e.argv, e.stdin, e.exitCode]), [
    [['-R'], '-A -t 10.0.0.1:80 -s wrr\n', 0],
    [['-S', '-n'], '', 0],
    [['-a', '-t', '10.0.0.1:80'], '', 2],
  ]);
  t.match(log[2]!.stderr, /real-server/);
  for (const e of log) t.ok(e.at >= e.startedAt && e.startedAt > Date.now() - 60_000, 'times are wall-clock ms');
  t.same(f.restoreLines(), ['-A -t 10.0.0.1:80 -s wrr']);
});

t.test('without a state file it refuses to run', async (t) => {
  const f = fakeIpvsadm();
  t.teardown(f.cleanup);
  const { spawnSync } = await import('node:child_process');
  const env = { ...process.env };
  delete env.FAKE_IPVSADM_STATE;
  const r = spawnSync(f.opts.path, ['-Ln'], { env, encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, /FAKE_IPVSADM_STATE/);
});
