#!/usr/bin/env -S node --max-old-space-size=192 --single-threaded-gc --max-semi-space-size=4
// poold: the daemon. The heap cap keeps RSS near the live set (~45 MiB at 10k backends): V8's default
// sizing lets garbage pile up past 300 MiB before collecting; single-threaded GC kept pauses <= 12 ms
// under load where parallel GC reached 124 ms (BENCHMARKS.md, Health checks). A 4 MiB semi-space
// keeps the young generation from growing to tens of MiB under 10k checks/s (RSS <= 256 MiB, issue 16;
// the check worker threads get the same through their resourceLimits, sched-shards.ts).
// With no etcd configured it runs an embedded etcd (single-machine mode).
import { hostname } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { configureResolver } from '../checks/resolve.js';
import { describeError, EXIT, exitCodeFor } from '../model/exit-codes.js';
import { parseDuration } from '../model/duration.js';
import { UsageError } from '../model/errors.js';
import { checkQuorum } from '../model/quorum.js';
import { etcdConfigPath, loadEtcdOptions, type EtcdFlags } from '../store/connection.js';
import { Keys } from '../store/keys.js';
import { syncAtStart } from './sync-at-start.js';
import { Daemon } from './daemon.js';
import { envPort, startEmbeddedEtcd, type EmbeddedEtcd } from './embedded-etcd.js';
import { createLogger } from './logger.js';

interface PooldFlags extends EtcdFlags {
  listen: string;
  observer?: string;
  dc?: string;
  quorum: string;
  leaseTtl: string;
  sync?: string;
  dataDir: string;
  logLevel?: string;
  driftPybal?: string;
  driftIcinga?: string;
  driftIcingaFormat?: 'icinga2' | 'nagios';
  driftInterval: string;
  auditRetention: string;
  resolver?: string;
  etcdWatch?: string;
  watchCheckInterval: string;
  etcdCompactionInterval: string;
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`bad --listen '${text}': expected HOST:PORT, e.g. 127.0.0.1:9090`);
  return { host: m[1] ?? (m[2] === '' ? '127.0.0.1' : m[2]), port };
}

function program(): Command {
  return new Command('poold')
    .description('LVS pool manager: health checks, depool thresholds and PyBal-compatible state, kept in etcd.')
    .option('--listen <host:port>', 'API address (loopback by default)', '127.0.0.1:9090')
    .option('--observer <name>', 'this instance\'s name (default: the host name)')
    .option('--dc <dcs>', 'only pools of these dcs, comma-separated (default: all)')
    .option('--quorum <q>', "observers needed to call a host up: 'majority' or a number", 'majority')
    .option('--lease-ttl <seconds>', 'TTL of this instance\'s etcd lease (observations, leadership)', '5')
    .option('--sync <dir>', 'sync pools/*.yaml into etcd at start (as poolctl sync)')
    .option('--data-dir <dir>', 'embedded etcd data directory (only without --etcd)', 'var/etcd')
    .option('--etcd <urls>', 'etcd endpoints (env POOLD_ETCD); none: run an embedded etcd on 127.0.0.1:2379 (env POOLD_ETCD_PORT)')
    .option('--etcd-ca <file>').option('--etcd-cert <file>').option('--etcd-key <file>')
    .option('--etcd-user <user>').option('--etcd-password <password>').option('--etcd-config <file>')
    .option('--conftool-v2 <winner>', 'run the v2 bridge (when elected): keep conftool pools identical in etcd v2 and v3; v2|v3 wins concurrent changes of one field, off (env POOLD_CONFTOOL_V2)')
    .option('--drift-pybal <file>', 'deployed pybal.conf to compare with the pool definitions (drift goes to /alerts)')
    .option('--drift-icinga <file>', 'deployed Icinga config to compare likewise')
    .addOption(new Option('--drift-icinga-format <format>').choices(['icinga2', 'nagios']).default('icinga2'))
    .option('--drift-interval <duration>', 'how often to re-compare', '1m')
    .option('--audit-retention <duration>', 'the leader deletes audit records older than this (0: keep all)', '90d')
    .option('--resolver <servers>', 'DNS servers for backends without an address, comma-separated IP[:port] (default: the system resolver)')
    .option('--etcd-watch <urls>', 'etcd endpoints for the watch connection (default: --etcd), e.g. a nearer member; same TLS and user')
    .option('--watch-check-interval <duration>', 'how often each etcd watch is checked for advancing (a stalled one warns and is re-established)', '5s')
    .option('--etcd-compaction-interval <duration>', 'the leader compacts etcd history to a revision at least one interval old, as kube-apiserver does (0: never, when the etcd operator compacts)', '5m')
    .addOption(new Option('--log-level <level>').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']))
    .exitOverride();
}

/** --resolver: backend names are asked of these servers (src/checks/name-resolver.ts). */
function configureResolverFlag(text: string): void {
  const servers = text.split(',').map((x) => x.trim()).filter(Boolean);
  if (servers.length === 0) throw new UsageError(`bad --resolver '${text}': expected IP[:port][,IP[:port]...]`);
  try {
    configureResolver({ servers });
  } catch (err) {
    throw new UsageError(`bad --resolver '${text}': ${(err as Error).message}`, { resolver: text }, { cause: err });
  }
}

function etcdConfigured(flags: PooldFlags): boolean {
  return flags.etcd !== undefined || (process.env.POOLD_ETCD ?? '') !== '' || etcdConfigPath(flags, process.env) !== undefined;
}

export async function main(argv: string[]): Promise<number> {
  let flags: PooldFlags;
  try {
    flags = program().parse(argv, { from: 'user' }).opts<PooldFlags>();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw err;
  }
  const log = createLogger(flags.logLevel);
  let embedded: EmbeddedEtcd | undefined;
  let daemon: Daemon | undefined;
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await daemon?.stop().catch((err: unknown) => log.error({ err }, 'error while stopping'));
    await embedded?.stop();
    process.exit(0);
  };
  try {
    const { host, port } = parseListen(flags.listen);
    const quorum = checkQuorum(/^\d+$/.test(flags.quorum) ? Number(flags.quorum) : flags.quorum);
    const ttl = Number(flags.leaseTtl);
    const auditRetentionMs = flags.auditRetention === '0' ? 0 : parseDuration(flags.auditRetention);
    if (auditRetentionMs === null) throw new UsageError(`bad --audit-retention '${flags.auditRetention}': a duration like 90d, or 0 to keep all`);
    const driftIntervalMs = parseDuration(flags.driftInterval);
    if (driftIntervalMs === null || driftIntervalMs < 1000) throw new UsageError(`bad --drift-interval '${flags.driftInterval}': a duration >= 1s`);
    if (!Number.isInteger(ttl) || ttl < 2) throw new UsageError(`bad --lease-ttl '${flags.leaseTtl}': whole seconds >= 2`);
    if (flags.resolver !== undefined) configureResolverFlag(flags.resolver);
    const watchCheckIntervalMs = parseDuration(flags.watchCheckInterval);
    if (watchCheckIntervalMs === null || watchCheckIntervalMs < 100) throw new UsageError(`bad --watch-check-interval '${flags.watchCheckInterval}': a duration >= 100ms`);
    const etcdCompactionIntervalMs = flags.etcdCompactionInterval === '0' ? 0 : parseDuration(flags.etcdCompactionInterval);
    if (etcdCompactionIntervalMs === null || (etcdCompactionIntervalMs > 0 && etcdCompactionIntervalMs < 1000)) throw new UsageError(`bad --etcd-compaction-interval '${flags.etcdCompactionInterval}': a duration >= 1s like 5m, or 0 to never compact`);
    const watchEndpoints = flags.etcdWatch?.split(',').map((x) => x.trim()).filter(Boolean);
    if (watchEndpoints !== undefined && (watchEndpoints.length === 0 || !watchEndpoints.every((e) => /^https?:\/\/[^/]+/.test(e)))) throw new UsageError(`bad --etcd-watch '${flags.etcdWatch}': expected URL[,URL...]`);
    // Before anything is started, so a Ctrl-C during start-up still stops the embedded etcd.
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    if (!etcdConfigured(flags)) {
      embedded = await startEmbeddedEtcd({ dataDir: flags.dataDir, clientPort: envPort('POOLD_ETCD_PORT', 2379) });
      flags.etcd = embedded.endpoint;
      log.info({ endpoint: embedded.endpoint, dataDir: embedded.dataDir }, 'started embedded etcd (no --etcd given)');
    }
    const keys = new Keys({ conftool: process.env.POOLD_CONFTOOL_ROOT, poold: process.env.POOLD_ROOT });
    if (flags.sync !== undefined) await syncAtStart(flags.sync, loadEtcdOptions(flags, process.env), keys, log);
    daemon = new Daemon({
      etcd: loadEtcdOptions(flags, process.env),
      keys,
      observer: flags.observer ?? hostname(),
      dcs: flags.dc?.split(',').map((s) => s.trim()).filter(Boolean),
      quorum,
      host,
      port,
      leaseTtlSeconds: ttl,
      log,
      auditRetentionMs,
      watchEndpoints,
      watchCheckIntervalMs,
      etcdCompactionIntervalMs,
      drift: { pybalFile: flags.driftPybal, icingaFile: flags.driftIcinga, icingaFormat: flags.driftIcingaFormat, intervalMs: driftIntervalMs },
    });
    await daemon.start();
    log.info({ api: daemon.url, pools: `${daemon.url}/pools`, alerts: `${daemon.url}/alerts` }, 'poold ready');
    return EXIT.ok;
  } catch (err) {
    process.stderr.write(`poold: ${describeError(err)}\n`);
    await daemon?.stop().catch((e: unknown) => log.error({ err: e }, "error while stopping after a failed start"));
    await embedded?.stop();
    return exitCodeFor(err);
  }
}

main(process.argv.slice(2)).then((code) => {
  if (code !== EXIT.ok) process.exit(code);
});
