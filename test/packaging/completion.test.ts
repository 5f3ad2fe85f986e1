// bash completion for poolctl (debian/completion/poolctl): its tables are poolctl's own commands and
// flags, and completing in a real bash gives verbs, flags, flag values, and host and pool names read
// from a real etcd through the compiled poolctl.
import t from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { startEtcd } from '../helpers/etcd.js';
import { POOLCTL, ROOT, runPoolctl } from '../helpers/poolctl.js';

const COMPLETION = join(ROOT, 'debian/completion/poolctl');

function bash(script: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['--norc', '--noprofile', '-c', `source ${JSON.stringify(COMPLETION)}\n${script}`],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`bash failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
  });
}

/** COMPREPLY for a command line; the word under the cursor is the last one ('' after a space). */
async function complete(line: string[], env: Record<string, string> = {}): Promise<string[]> {
  const words = line.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = await bash(`COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _poolctl; printf '%s\\n' "\${COMPREPLY[@]}"`, env);
  return out.split('\n').filter(Boolean).sort();
}

/** Every command path ("lvs agent" for subcommands) with its commander Command. */
function commands(cmd: Command, prefix: string[] = []): [string, Command][] {
  return cmd.commands.flatMap((c): [string, Command][] => {
    const name = [...prefix, c.name()];
    return c.commands.length > 0 ? commands(c, name) : [[name.join(' '), c]];
  });
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).sort();

t.test('the tables are poolctl\'s commands and flags', async (t) => {
  const program = buildProgram();
  const all = commands(program);
  const top = [...new Set(all.map(([n]) => n.split(' ')[0]))];
  t.same(words(await bash('echo $_poolctl_commands')), [...top, 'help'].sort(), 'verbs (and commander\'s help)');
  t.same(words(await bash('echo $_poolctl_lvs_commands')), all.filter(([n]) => n.startsWith('lvs ')).map(([n]) => n.slice(4)).sort(), 'lvs subcommands');
  // Global options (--etcd*, --json) work before or after the verb, so every verb completes them.
  const globals = program.options.map((o) => o.long!).filter((l) => l !== '--version');
  for (const [name, cmd] of all) {
    const want = [...new Set([...globals, ...cmd.options.map((o) => o.long!), '--help'])].sort();
    t.same(words(await bash(`_poolctl_flags ${JSON.stringify(name)}`)), want, `flags of ${name}`);
  }
  const valueFlags = new Set([program, ...all.map(([, c]) => c)].flatMap((c) => c.options.filter((o) => o.required || o.optional).map((o) => o.long!)));
  t.same(words(await bash('echo $_poolctl_value_flags')), [...valueFlags].sort(), 'flags that take a value');
  t.same(words(await bash('echo $_poolctl_etcd')), globals.sort(), 'the global flags');
});

t.test('verbs, flags and fixed values complete', async (t) => {
  t.same(await complete(['poolctl', 'de']), ['decommission', 'depool']);
  t.same(await complete(['poolctl', '--v']), ['--version']);
  t.same(await complete(['poolctl', 'depool', '--d']), ['--downtime', '--dry-run']);
  t.same(await complete(['poolctl', 'get', '--']), ['--conftool-v2', '--etcd', '--etcd-ca', '--etcd-cert', '--etcd-config', '--etcd-key', '--etcd-password', '--etcd-user', '--help', '--json', '--service']);
  t.same(await complete(['poolctl', 'sync', '--new-hosts', '']), ['inactive', 'no', 'yes']);
  t.same(await complete(['poolctl', 'monitoring', '--format', 'n']), ['nagios']);
  t.same(await complete(['poolctl', 'lvs', '']), ['--help', 'agent', 'render-pybal']);
  t.same(await complete(['poolctl', 'lvs', 'agent', '--p']), ['--period', '--poold']);
  t.same(await complete(['poolctl', 'depool', '--reason', '']), [], 'free-text values get nothing');
  t.same(await complete(['poolctl', 'select', 'name=x', 'de']), ['decommission', 'depool'], 'select actions');
});

t.test('host and pool names come from etcd through poolctl', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const dir = mkdtempSync(join(tmpdir(), 'poold-completion-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'eqiad.yaml'), `dc: eqiad
services:
  cxserver:
    cluster: sca
    lvs: { ip: 10.2.2.18, port: 8080 }
    checks: [{ kind: tcp }]
    servers:
      sca1001.eqiad.wmnet: { weight: 10, address: 127.0.0.1 }
      sca1002.eqiad.wmnet: { weight: 10, address: 127.0.0.2 }
  parsoid:
    cluster: parsoid
    lvs: { ip: 10.2.2.28, port: 8000 }
    checks: [{ kind: tcp }]
    servers:
      wtp1001.eqiad.wmnet: { weight: 10, address: 127.0.0.3 }
`);
  const sync = await runPoolctl(['sync', dir], { POOLD_ETCD: etcd.clientUrl });
  t.equal(sync.code, 0, sync.stderr);
  // `poolctl` on the PATH, as the package installs it.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'poolctl'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(POOLCTL)} "$@"\n`);
  chmodSync(join(bin, 'poolctl'), 0o755);
  // The default 3 s is for an interactive TAB; a loaded test machine needs longer to start node.
  const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, POOLCTL_COMPLETION_TIMEOUT: '30' };

  t.same(await complete(['poolctl', '--etcd', etcd.clientUrl, 'depool', 'sca'], env),
    ['sca1001', 'sca1001.eqiad.wmnet', 'sca1002', 'sca1002.eqiad.wmnet'], 'hosts, with --etcd from the line');
  t.same(await complete(['poolctl', 'pool', `--etcd=${etcd.clientUrl}`, '--reason', 'r', 'w'], env),
    ['wtp1001', 'wtp1001.eqiad.wmnet'], '--etcd=URL form; a value flag before the host is skipped');
  t.same(await complete(['poolctl', 'status', ''], { ...env, POOLD_ETCD: etcd.clientUrl }),
    ['eqiad/parsoid/parsoid', 'eqiad/sca/cxserver'], 'pools, with the etcd from the environment');
  t.same(await complete(['poolctl', 'depool', '--etcd', etcd.clientUrl, '--service', 'eqiad/s'], env), ['eqiad/sca/cxserver']);
  t.same(await complete(['poolctl', 'weight', '--etcd', etcd.clientUrl, 'sca1001', ''], env), [], 'nothing for the weight itself');
  t.same(await complete(['poolctl', '--etcd', 'http://127.0.0.1:9', 'depool', 'sca'], env), [], 'no etcd: no names, and no error');
});
