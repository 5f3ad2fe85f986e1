// freeze <dc/service> --for 30m --reason "..." and unfreeze <dc/service> (issue 14): suspend, or stop
// suspending, the HEALTH-based depools of one LVS service. The freeze is one audited etcd write
// (store/freeze.ts) with an absolute end time; poold's leader holds health depools back until then
// (hosts failing checks stay pooled; admin changes still apply) and shows it in /alerts, /v1, the
// dashboard and metrics. Bad input is a usage error (exit 2): unknown service, bad or too long
// duration, missing --reason.
import { makeFreeze, describeFreeze, FreezeInputError } from '../../model/coordinator-freeze.js';
import { parseDuration, formatDuration } from '../../model/duration.js';
import { UsageError } from '../../model/errors.js';
import type { ServiceKey } from '../../model/types.js';
import { deleteFreeze, writeFreeze } from '../../store/freeze.js';
import { withWriteContext, type CliContext, type CliOpts } from '../context.js';

/** The LVS service `arg` names (`dc/name`, or a section name defined in one dc only), as stored by sync. */
async function resolveService(ctx: CliContext, arg: string | undefined): Promise<ServiceKey> {
  if (arg === undefined || arg === '') throw new UsageError('name the LVS service: poolctl freeze <dc/name> --for 30m --reason "..."');
  const r = await ctx.kv.range(ctx.keys.definitionsRange());
  const all = r.kvs.map((e) => ctx.keys.parseService(e.key)).filter((k): k is ServiceKey => k !== undefined);
  const matches = all.filter((k) => `${k.dc}/${k.name}` === arg || (!arg.includes('/') && k.name === arg));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) throw new UsageError(`'${arg}' is defined in several dcs (${matches.map((k) => k.dc).join(', ')}); write it as dc/name`, { arg });
  throw new UsageError(`unknown LVS service '${arg}': no definition at ${ctx.keys.servicesPrefix()}${arg.includes('/') ? arg : '<dc>/' + arg}; poolctl status lists them`, { arg });
}

export function freezeCommand(unfreeze: boolean) {
  return async (args: string[], opts: CliOpts): Promise<number> => {
    const reason = typeof opts.reason === 'string' ? opts.reason : undefined;
    const forText = typeof opts.for === 'string' ? opts.for : undefined;
    if (!unfreeze && forText === undefined) throw new UsageError('freeze needs --for DURATION (e.g. 30m; at most 24h)');
    return withWriteContext(opts, async (ctx) => {
      const sk = await resolveService(ctx, args[0]);
      const path = `${sk.dc}/${sk.name}`;
      if (unfreeze) {
        const r = await deleteFreeze(ctx.kv, sk, { keys: ctx.keys, actor: ctx.actor, reason: reason ?? 'poolctl unfreeze', operationId: ctx.operationId });
        const lines = r.changes.length === 0 ? [`${path} was not frozen; nothing written`] : [`unfroze ${path}: health depools apply again (operation ${r.operationId})`];
        ctx.out.result(lines, { service: path, unfrozen: r.changes.length > 0, operationId: r.operationId });
        return 0;
      }
      let freeze;
      try {
        freeze = makeFreeze({ now: Date.now(), durationMs: parseDuration(forText!), durationText: forText!, actor: ctx.actor, reason });
      } catch (err) {
        if (err instanceof FreezeInputError) throw new UsageError(err.message, err.context, { cause: err });
        throw err;
      }
      const r = await writeFreeze(ctx.kv, sk, freeze, { keys: ctx.keys, actor: ctx.actor, reason: freeze.reason, operationId: ctx.operationId });
      ctx.out.result(
        [`froze ${path} for ${formatDuration(freeze.until - freeze.since)}: ${describeFreeze(freeze)} (operation ${r.operationId})`,
          'hosts failing their checks stay pooled until then; admin changes still apply; poolctl unfreeze ends it early'],
        { service: path, ...freeze, operationId: r.operationId },
      );
      return 0;
    });
  };
}
