// The command check: Nagios plugin protocol, no shell, empty environment, process-group kill.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CommandChecker } from '../../src/checks/command.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { commandDef, loopbackAddress } from './check-defs.js';

const dir = mkdtempSync(join(tmpdir(), 'poold-cmd-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

const target = { host: 'sca1001.eqiad.wmnet', address: '127.0.0.1', port: 8080 };

/** Processes of a process group that are still alive (zombies are dead, only not yet reaped). */
function liveMembers(pgid: number): number[] {
  const live: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we were scanning
    }
    // Fields after the parenthesised command name: state ppid pgrp ...
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(after[2]) === pgid && after[0] !== 'Z') live.push(Number(entry));
  }
  return live;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function eventually(cond: () => boolean, ms = 1000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

t.test('a hanging plugin has its whole process group killed at the timeout', async (tt) => {
  const pidFile = join(dir, 'grandchild.pid');
  const hang = script('hang.sh', `sleep 1000 &\necho $! > ${pidFile}\nsleep 1000`);
  const c = new CommandChecker(commandDef([hang], { timeoutMs: 400 }));
  const start = Date.now();
  const r = await c.check(target, start + 400);
  const elapsed = Date.now() - start;
  tt.equal(r.up, false);
  tt.equal(r.code, 'command_timeout');
  tt.match(r.message, /plugin timed out after \d+ ms; process group \d+ killed/);
  tt.ok(elapsed >= 395 && elapsed <= 500, `verdict at the deadline (${elapsed} ms)`);
  const pgid = r.detail?.pid as number;
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  tt.ok(grandchild > 0 && grandchild !== pgid, 'the plugin did spawn a grandchild');
  tt.ok(await eventually(() => !alive(pgid) && !alive(grandchild)), `plugin ${pgid} and grandchild ${grandchild} are dead`);
  tt.same(liveMembers(pgid), [], 'nothing of the process group is left running');
});

t.test('processes left behind after a normal exit are killed and reported', async (tt) => {
  const pidFile = join(dir, 'leftover.pid');
  const leave = script('leave.sh', `sleep 1000 &\necho $! > ${pidFile}\necho "OK - fine"`);
  const r = await new CommandChecker(commandDef([leave])).check(target, Date.now() + 500);
  tt.equal(r.up, true, r.message);
  tt.equal(r.message, 'OK - fine');
  tt.equal(r.findings.length, 1);
  tt.match(r.findings[0].message, /left processes running/);
  const leftover = Number(readFileSync(pidFile, 'utf8'));
  tt.ok(await eventually(() => !alive(leftover)), `leftover ${leftover} is dead`);
});

t.test('the environment is empty', async (tt) => {
  process.env.POOLD_TEST_SECRET = 'must-not-leak';
  tt.teardown(() => delete process.env.POOLD_TEST_SECRET);
  const r = await new CommandChecker(commandDef(['/usr/bin/env'])).check(target, Date.now() + 500);
  tt.equal(r.up, true);
  const printed = `${r.detail?.output}\n${r.detail?.longOutput}`.split('\n').filter((l) => l !== '');
  // tap's process-info hook patches child_process to add its own _TAPJS_* marker; nothing else may appear.
  tt.same(printed.filter((l) => !l.startsWith('_TAPJS_')), [], 'env prints no variable of ours: no PATH, HOME or POOLD_TEST_SECRET');
});

t.test('argv is substituted and never goes through a shell', async (tt) => {
  const echo = script('args.sh', 'printf "OK - [%s] [%s] [%s] [%s]\\n" "$1" "$2" "$3" "$4"');
  const r = await new CommandChecker(commandDef([echo, '{host}', '{address}', 'p={port}', '$(touch /tmp/x); echo *'])).check(target, Date.now() + 500);
  tt.equal(r.message, 'OK - [sca1001.eqiad.wmnet] [127.0.0.1] [p=8080] [$(touch /tmp/x); echo *]');
});

t.test('non-zero exit is command_failed with the first output line; perfdata parsed', async (tt) => {
  const crit = script('crit.sh', 'echo "CRITICAL - queue stalled | lag=42s;10;30;0; \'events in\'=7c"\necho "long text line"\nexit 2');
  const r = await new CommandChecker(commandDef([crit])).check(target, Date.now() + 500);
  tt.equal(r.up, false);
  tt.equal(r.code, 'command_failed');
  tt.equal(r.message, 'CRITICAL - queue stalled');
  tt.equal(r.detail?.exitCode, 2);
  tt.equal(r.detail?.state, 'CRITICAL');
  tt.equal(r.detail?.longOutput, 'long text line');
  tt.same(r.detail?.perfdata, [
    { label: 'lag', value: 42, uom: 's', warn: '10', crit: '30', min: 0 },
    { label: 'events in', value: 7, uom: 'c' },
  ]);
  const warn = script('warn.sh', 'echo "WARNING - slow"\nexit 1');
  const w = await new CommandChecker(commandDef([warn])).check(target, Date.now() + 500);
  tt.equal(w.up, false, 'WARNING (exit 1) is down: anything but 0 is down');
  const silent = script('silent.sh', 'exit 3');
  tt.equal((await new CommandChecker(commandDef([silent])).check(target, Date.now() + 500)).message, 'exit 3 with no output');
});

t.test('a plugin that cannot run is command_failed', async (tt) => {
  const r = await new CommandChecker(commandDef(['/nonexistent/check_x'])).check(target, Date.now() + 500);
  tt.equal(r.code, 'command_failed');
  tt.equal(r.message, 'cannot run /nonexistent/check_x: ENOENT');
  tt.throws(() => new CommandChecker(commandDef([])), /command check cmd: argv is empty/);
});

t.test('a real monitoring plugin by bare name (PluginDir) against a simulated backend', async (tt) => {
  const sim = await startSimulator({ backends: [{ address: loopbackAddress(), port: 0, behaviour: 'ok' }] });
  tt.teardown(() => sim.stop());
  const [{ address, port }] = sim.list();
  const c = new CommandChecker(commandDef(['check_tcp', '-H', '{address}', '-p', '{port}'], { timeoutMs: 2000 }));
  const up = await c.check({ host: 'h', address, port }, Date.now() + 2000);
  tt.equal(up.up, true, up.message);
  tt.match(up.message, /^TCP OK/);
  tt.equal((up.detail?.perfdata as { label: string }[])[0].label, 'time');
  await sim.setBehaviour(address, port, 'refused');
  const down = await c.check({ host: 'h', address, port }, Date.now() + 2000);
  tt.equal(down.code, 'command_failed');
  tt.match(down.message, /Connection refused/);
});
