// rolling <pool> --command '...' and restart <pool> --unit U: one host at a time, stopping at the
// first failure (see ../rolling.ts). Progress on stderr; --json prints the summary.
import { parseDuration } from '../../model/duration.js';
import { UsageError } from '../../model/errors.js';
import { matchHostName } from '../../model/selector.js';
import { confirmMany } from '../confirm.js';
import { withContext, type CliOpts } from '../context.js';
import { parseDowntime } from '../downtime.js';
import { rollingOperation, splitCommand } from '../rolling.js';
import { parseConfirmers } from '../confirmers.js';
import { loadServiceDefs, resolvePool } from '../services.js';

function duration(opts: CliOpts, name: string, fallback: string): number {
  const text = typeof opts[name] === 'string' ? (opts[name] as string) : fallback;
  const ms = parseDuration(text);
  if (ms === null || ms <= 0) throw new UsageError(`bad --${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} '${text}': a duration like 30s or 5m`);
  return ms;
}

export function rollingArgv(verb: string, opts: CliOpts): string[] {
  if (verb === 'restart') {
    if (typeof opts.unit !== 'string' || opts.unit === '') throw new UsageError('restart needs --unit UNIT (the systemd unit to restart on each host)');
    const via = typeof opts.via === 'string' ? splitCommand(opts.via) : ['ssh', '{host}', 'sudo'];
    return [...via, 'systemctl', 'restart', opts.unit];
  }
  if (typeof opts.command !== 'string') throw new UsageError("rolling needs --command '...' ({host}, {address} and {pool} are substituted)");
  return splitCommand(opts.command);
}

export function verb(name: 'rolling' | 'restart') {
  return async (args: string[], opts: CliOpts): Promise<number> => {
    const argv = rollingArgv(name, opts);
    const o = {
      argv,
      commandTimeoutMs: duration(opts, 'commandTimeout', '10m'),
      stateTimeoutMs: duration(opts, 'stateTimeout', '30s'),
      healthTimeoutMs: duration(opts, 'healthTimeout', '5m'),
      reason: typeof opts.reason === 'string' ? opts.reason : `poolctl ${name}`,
      downtimeMs: typeof opts.downtime === 'string' ? parseDowntime(opts.downtime) : undefined,
      progress: (line: string) => process.stderr.write(`${line}\n`),
      confirmers: [
        ...parseConfirmers('agent', typeof opts.confirmAgents === 'string' ? opts.confirmAgents : undefined),
        ...parseConfirmers('poold', typeof opts.confirmPoold === 'string' ? opts.confirmPoold : undefined),
      ],
      confirmTimeoutMs: duration(opts, 'confirmTimeout', '30s'),
    };
    const svc = resolvePool(await loadServiceDefs(opts), args[0]);
    let hosts = Object.keys(svc.servers).sort();
    if (typeof opts.hosts === 'string') {
      hosts = opts.hosts.split(',').map((h) => {
        const m = matchHostName(h.trim(), Object.keys(svc.servers));
        if (m.kind !== 'found') throw new UsageError(`--hosts: '${h}' is ${m.kind === 'none' ? 'not in the pool' : `ambiguous: ${m.candidates.join(', ')}`}`);
        return m.hosts[0];
      });
    }
    await confirmMany(hosts.map((h) => `${h}: depool, ${argv.join(' ')}, wait for checks, repool`), opts);
    return withContext(opts, async (ctx) => {
      const summary = await rollingOperation(ctx, svc, hosts, o);
      if (opts.json === true) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        const failed = summary.hosts.find((h) => h.status === 'failed');
        process.stdout.write(summary.ok
          ? `${summary.pool}: ${name} done on ${hosts.length} host(s)\n`
          : `${summary.pool}: ${name} STOPPED at ${failed?.host} (${failed?.step}): ${failed?.error}\n` +
            (failed?.unconfirmed ?? []).map((u) => `  not confirmed by ${u.kind} ${u.url}: ${u.problem}\n`).join(''));
      }
      return summary.ok ? 0 : 1;
    });
  };
}
