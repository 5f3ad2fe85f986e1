// poolctl: the operators' CLI. Start-up is kept lean (ARCHITECTURE.md §13: depool median ≤ 190 ms): this file
// only declares the commands; each command's code, and the etcd client, load when it runs.
import { Command, CommanderError, Option } from 'commander';
import { EXIT, describeError, exitCodeFor } from '../model/exit-codes.js';

type Opts = Record<string, unknown>;

// Kept in step with package.json by test/cli/version.test.ts (reading package.json here would cost start-up time).
export const POOLCTL_VERSION = '0.1.0';
type Handler = (args: string[], opts: Opts) => Promise<number | void>;

/** Lazily import a command module and run its `run(args, opts)`. */
function lazy(load: () => Promise<{ run: Handler }>) {
  return async (...params: unknown[]): Promise<void> => {
    const cmd = params[params.length - 1] as Command;
    const args = params.slice(0, -2).flat().filter((a): a is string => typeof a === 'string');
    const mod = await load();
    const code = await mod.run(args, cmd.optsWithGlobals());
    process.exitCode = typeof code === 'number' ? code : EXIT.ok;
  };
}

/**
 * The etcd connection and --json are options of the program, which every verb inherits (commander
 * hands them over through optsWithGlobals), so they go before or after the verb alike:
 * `poolctl --etcd URL depool x` and `poolctl depool x --etcd URL`.
 */
function globalOptions(program: Command): Command {
  return program
    .option('--etcd <urls>', 'etcd endpoints, comma-separated (env POOLD_ETCD; default http://127.0.0.1:2379)')
    .option('--etcd-ca <file>', 'CA certificate for etcd TLS (env POOLD_ETCD_CA)')
    .option('--etcd-cert <file>', 'client certificate for etcd TLS (env POOLD_ETCD_CERT)')
    .option('--etcd-key <file>', 'client key for etcd TLS (env POOLD_ETCD_KEY)')
    .option('--etcd-user <user>', 'etcd user (env POOLD_ETCD_USER)')
    .option('--etcd-password <password>', 'etcd password (env POOLD_ETCD_PASSWORD; prefer the env or config file)')
    .option('--etcd-config <file>', 'YAML file with etcd settings (env POOLD_ETCD_CONFIG)')
    .option('--conftool-v2 <winner>', 'conftool pools live in etcd v2 too: write there first; v2|v3 wins concurrent changes, off (env POOLD_CONFTOOL_V2)')
    .option('--json', 'machine-readable output');
}

/** Verbs that talk to etcd; the connection options are the program's (globalOptions). */
function etcdOptions(cmd: Command): Command {
  return cmd;
}

function writeOptions(cmd: Command): Command {
  return etcdOptions(cmd)
    .option('--reason <text>', 'why; recorded in the audit log')
    .option('--dry-run', 'show what would change, write nothing')
    .option('--yes', 'confirm a write to more than one object')
    .option('--force', 'override the depool-threshold guard')
    .option('--service <selector>', 'limit to pools matching dc/cluster/service, or a selector like service=cxserver');
}

export function buildProgram(): Command {
  const program = new Command('poolctl')
    .description('Operate poold pools in etcd (conftool-compatible).')
    .version(POOLCTL_VERSION)
    // Usage errors read like every other poolctl error ("poolctl: what; how to fix"), then the help.
    .configureOutput({ outputError: (text, write) => write(`poolctl: ${text.replace(/^error: /, '')}`) })
    .showHelpAfterError()
    // Each verb's --help lists the program's options too (subcommands inherit this setting).
    .configureHelp({ showGlobalOptions: true })
    .exitOverride();
  globalOptions(program);

  const verbs: Array<[string, string]> = [
    ['pool', 'pool a host (pooled=yes)'],
    ['depool', 'depool a host (pooled=no)'],
    ['drain', 'drain a host: keep it pooled with weight 0'],
    ['decommission', 'remove a host from its pools (pooled=inactive)'],
  ];
  for (const [verb, desc] of verbs) {
    const c = writeOptions(program.command(`${verb} <host>`).description(desc));
    if (verb === 'depool') c.option('--downtime <duration>', 'also schedule an Icinga downtime for the host (e.g. 30m)');
    c.action(lazy(async () => ({ run: (await import('./commands/admin-verbs.js')).verb(verb) })));
  }
  writeOptions(program.command('weight <host> <weight>').description('set a host\'s weight'))
    .action(lazy(async () => ({ run: (await import('./commands/admin-verbs.js')).verb('weight') })));
  etcdOptions(program.command('get <host>').description('show a host\'s admin state in every pool it is in'))
    .option('--service <selector>', 'limit to matching pools')
    .action(lazy(() => import('./commands/get.js')));
  writeOptions(
    program
      .command('select <selector> <action...>')
      .description('act on every host matching a conftool selector (dc=,cluster=,service=,name= anchored regexes); ' +
        'actions: get | pool | depool | drain | decommission | weight N | set/pooled=no:weight=5'),
  ).action(lazy(() => import('./commands/select.js')));
  etcdOptions(program.command('status [pool]').description('hosts of a pool (or all): admin, up, pooled, reason'))
    .option('--watch', 'then follow changes as they happen (from poold\'s event stream)')
    .option('--api <url>', 'poold API for --watch (env POOLD_API)', process.env.POOLD_API ?? 'http://127.0.0.1:9090')
    .action(lazy(() => import('./commands/status.js')));
  // Issue 14: suspend health depools of one LVS service for a while (a broken check, not broken servers).
  etcdOptions(program.command('freeze <service>').description('hold health depools of an LVS service (dc/name) back for --for (max 24h): failing hosts stay pooled'))
    .option('--for <duration>', 'how long (e.g. 30m; at most 24h); it ends by itself')
    .option('--reason <text>', 'why (required); shown in /alerts and the audit log')
    .action(lazy(async () => ({ run: (await import('./commands/freeze.js')).freezeCommand(false) })));
  etcdOptions(program.command('unfreeze <service>').description('end a freeze of health depools early'))
    .option('--reason <text>', 'why; recorded in the audit log')
    .action(lazy(async () => ({ run: (await import('./commands/freeze.js')).freezeCommand(true) })));
  etcdOptions(program.command('sync [dir]').description('create/update pools in etcd from pools/*.yaml (default ./pools)'))
    .option('--dry-run', 'print the diff, write nothing')
    .option('--reason <text>', 'why; recorded in the audit log')
    .option('--yes', 'accepted as by every writing verb (sync never asks: its files are the confirmation)')
    .addOption(new Option('--new-hosts <state>', 'admin state for hosts sync creates').choices(['yes', 'no', 'inactive']).default('yes'))
    .action(lazy(() => import('./commands/sync.js')));
  etcdOptions(program.command('audit').description('recent audit records, newest first'))
    .option('--limit <n>', 'how many', '20')
    .option('--host <host>', 'only records of this host (FQDN or short name)')
    .option('--actor <actor>', 'only records by this actor')
    .option('--key <prefix>', 'only records of keys starting with this')
    .option('--op <id>', 'only records of one operation (every poolctl write has one id; a partial failure prints it)')
    .action(lazy(() => import('./commands/audit.js')));

  const offline = (c: Command) => c
    .option('--pools <dir>', 'read service definitions from pools/*.yaml instead of etcd')
    .option('--dc <dc>', 'only this dc');
  offline(etcdOptions(program.command('check <pool> [host]')
    .description('run an LVS service\'s checks once now (dc/name, a section name such as cxserver_8080, or an unambiguous catalog name)')))
    .option('--nagios', 'Nagios plugin output and exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)')
    .action(lazy(() => import('./commands/check.js')));
  program.command('alerts').description('read poold /alerts the check_pybal way')
    .option('--url <url>', 'poold /alerts URL', 'http://127.0.0.1:9090/alerts')
    .option('--pool <pool>', 'only this pool')
    .option('--nagios', 'Nagios plugin exit codes')
    .action(lazy(() => import('./commands/alerts.js')));
  const lvs = program.command('lvs').description('LVS: pybal.conf rendering and the IPVS agent');
  offline(etcdOptions(lvs.command('render-pybal').description('write pybal.conf sections for every service')))
    .option('--poold-url <url>', 'poold API base URL for the `config =` lines (default http://poold.svc.<dc>.wmnet:9090)')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--driven', 'PyBal applies poold\'s decision: one always-passing monitor per section (the default)')
    .option('--pybal-monitors', 'render monitors mirroring poold\'s checks instead (PyBal then also judges health itself; for comparison)')
    .option('--driven-interval <seconds>', 'seconds between runs of the always-passing monitor')
    .action(lazy(async () => ({ run: (await import('./commands/lvs.js')).renderPybalCommand })));
  etcdOptions(lvs.command('agent').description('reconcile this host\'s IPVS table from poold state (runs until stopped)'))
    .requiredOption('--host <name>', 'this LVS host\'s name')
    .option('--services <list>', 'dc/name,... of the LVS services this host serves (default: all)')
    .option('--poold <url>', 'poll poold\'s JSON API instead of watching etcd')
    .option('--ipvsadm <path>', 'ipvsadm binary', '/sbin/ipvsadm')
    .option('--period <duration>', 'full reconcile period (repairs hand edits)', '5s')
    .option('--listen <host:port>', "agent /metrics and /status ('none' to disable)", '127.0.0.1:9095')
    .option('--dry-run', 'print the ipvsadm commands, apply nothing')
    // BGP (issue 15): PyBal's [global] bgp-* options; see the README, "LVS hosts: BGP".
    .option('--bgp', 'announce the served VIPs over BGP through a gobgpd this agent owns')
    .option('--bgp-local-asn <asn>', 'this LVS host\'s AS')
    .option('--bgp-peer-asn <asn>', 'the routers\' AS')
    .option('--bgp-peer-address <ips>', 'the routers, comma-separated')
    .option('--bgp-med <n>', 'MED of every announcement: lower on the primary LVS host (default 0)')
    .option('--bgp-nexthop-ipv4 <ip>', 'next hop of IPv4 VIPs (this host)')
    .option('--bgp-nexthop-ipv6 <ip>', 'next hop of IPv6 VIPs (this host)')
    .option('--bgp-router-id <ip>', 'BGP identifier (default: --bgp-nexthop-ipv4)')
    .option('--bgp-local-ips <ips>', 'addresses gobgpd listens on (default all)')
    .option('--bgp-local-port <port>', 'port gobgpd listens on; -1 for none (default 179)')
    .option('--bgp-hold-time <duration>', 'hold time offered to the routers (default 90s)')
    .option('--bgp-connect-retry <duration>', 'time between connection attempts to a router (default 5s)')
    .addOption(new Option('--bgp-policy <policy>', 'when a VIP is withdrawn while the agent runs (default keep)').choices(['keep', 'withdraw-when-empty']))
    .addOption(new Option('--bgp-default <yes|no>', 'announce services whose definition has no bgp setting (default yes)').choices(['yes', 'no']))
    .option('--bgp-poll <duration>', 're-read gobgpd\'s RIB this often, repairing lost routes (default 5s)')
    .option('--bgp-netns <name>', 'run gobgpd in this network namespace')
    .option('--gobgpd <path>', 'gobgpd binary (default /usr/bin/gobgpd)')
    .option('--gobgp <path>', 'gobgp CLI binary (default /usr/bin/gobgp)')
    .action(lazy(async () => ({ run: (await import('./commands/lvs.js')).agentCommand })));
  program.command('import <kind> <file>').description('import an existing pybal.conf as pools/ YAML (kind: pybal)')
    .option('--dc <dc>', 'the dc this pybal.conf serves')
    .option('--conftool-nodes <file>', 'conftool-data node file: the hosts of the pools `config = etcd://...` names')
    .option('--catalog <file>', "Wikimedia's service catalog (service.yaml): catalog names, and checks taken from the monitoring probes")
    .option('--cluster <cluster>', 'conftool cluster for services read from file:// or http:// server lists')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(lazy(() => import('./commands/import-pybal.js')));
  offline(etcdOptions(program.command('monitoring <action>').description('monitoring render: Icinga config from the pool definitions')))
    .addOption(new Option('--format <format>', 'output syntax').choices(['icinga2', 'nagios']).default('icinga2'))
    .option('--poold-url <url>', 'poold API base URL the /alerts checks read')
    .option('--poolctl <path>', 'poolctl path on the Icinga host', '/usr/bin/poolctl')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(lazy(() => import('./commands/monitoring.js')));
  offline(etcdOptions(program.command('drift').description('compare deployed pybal.conf / Icinga config with the pool definitions (Nagios output)')))
    .option('--pybal <file>', 'deployed pybal.conf')
    .option('--icinga <file>', 'deployed Icinga config')
    .option('--catalog <file>', "Wikimedia's service catalog: compare each service's LVS monitors with its monitoring probes (needs --dc)")
    .addOption(new Option('--icinga-format <format>').choices(['icinga2', 'nagios']).default('icinga2'))
    .option('--poold-url <url>', 'expected poold URL in `config =` lines')
    .action(lazy(() => import('./commands/drift.js')));

  for (const name of ['rolling', 'restart'] as const) {
    const c = etcdOptions(program.command(`${name} <pool>`)
      .description(name === 'rolling'
        ? 'one host at a time: depool, run --command, wait for checks, repool; stops at the first failure'
        : 'rolling restart of a systemd unit (shorthand for rolling --command "ssh {host} sudo systemctl restart UNIT")'))
      .option('--reason <text>', 'why; recorded in the audit log')
      .option('--yes', 'confirm (several hosts are changed)')
      .option('--hosts <list>', 'only these hosts, in this order (default: all, sorted)')
      .option('--downtime <duration>', 'schedule Icinga downtime while each host is out')
      .option('--command-timeout <duration>', 'per host', '10m')
      .option('--state-timeout <duration>', 'wait for poold to publish each (de)pool', '30s')
      .option('--health-timeout <duration>', 'wait for the checks to pass after the command', '5m')
      .option('--confirm-agents <urls>', 'LVS agents (base URLs of their /status) that must confirm each host out of and back in IPVS')
      .option('--confirm-poold <urls>', 'poold instances (API base URLs) that must serve each depool and repool')
      .option('--confirm-timeout <duration>', 'wait for every confirmer; one missing stops the operation', '30s');
    if (name === 'rolling') c.option('--command <command>', 'run for each host, argv (no shell); {host} {address} {pool} substituted');
    else c.option('--unit <unit>', 'systemd unit').option('--via <prefix>', 'how to reach the host', 'ssh {host} sudo');
    c.action(lazy(async () => ({ run: (await import('./commands/rolling.js')).verb(name) })));
  }

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are not errors; everything else commander rejects is usage.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`poolctl: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}
