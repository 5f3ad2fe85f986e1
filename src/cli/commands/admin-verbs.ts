// pool, depool, drain, weight, decommission: one host (FQDN or short name) in every pool it is in,
// narrowed with --service.
import { UsageError } from '../../model/errors.js';
import { ICINGA_ENV } from '../../monitoring/downtime-config.js';
import { applyAdminChange, reportLines, type AdminPatch } from '../admin-change.js';
import { withWriteContext, type CliOpts } from '../context.js';
import { parseServiceFilter, readInventory, resolveHost } from '../inventory.js';
import { findDepools, otherDepooled, stillDepooledNote } from '../still-depooled.js';

export function parseWeight(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`bad weight '${text}': a weight is a whole number >= 0`, { weight: text });
  return Number(text.trim());
}

function patchFor(verb: string, args: string[]): AdminPatch {
  switch (verb) {
    case 'pool': return { pooled: 'yes' };
    case 'depool': return { pooled: 'no' };
    case 'drain': return { weight: 0 };
    case 'decommission': return { pooled: 'inactive' };
    case 'weight': return { weight: parseWeight(args[1] ?? '') };
    default: throw new UsageError(`unknown verb ${verb}`);
  }
}

export function verb(name: string) {
  return async (args: string[], opts: CliOpts): Promise<number> => {
    const patch = patchFor(name, args);
    // Downtime code (https, Icinga config) loads only when asked for: depool must start fast.
    const downtime = name === 'depool' && typeof opts.downtime === 'string' ? await import('../downtime.js') : undefined;
    const downtimeMs = downtime !== undefined ? downtime.parseDowntime(opts.downtime as string) : undefined;
    const filter = parseServiceFilter(typeof opts.service === 'string' ? opts.service : undefined);
    return withWriteContext(opts, async (ctx) => {
      const inv = await readInventory(ctx);
      const targets = resolveHost(inv, args[0], filter);
      const report = await applyAdminChange(ctx, inv, targets, patch, {
        reason: typeof opts.reason === 'string' ? opts.reason : undefined,
        dryRun: opts.dryRun === true,
        yes: opts.yes === true,
        force: opts.force === true,
      });
      for (const w of report.warnings) ctx.out.warn(w);
      if (!report.dryRun && (downtimeMs !== undefined || (name === 'pool' && process.env[ICINGA_ENV.url]))) {
        const { applyDowntime } = downtime ?? (await import('../downtime.js'));
        const reason = typeof opts.reason === 'string' ? opts.reason : `poolctl ${name}`;
        const action = downtimeMs !== undefined ? { schedule: downtimeMs } : 'remove' as const;
        for (const w of await applyDowntime(report, action, ctx.actor, reason)) ctx.out.warn(w);
      }
      // `pool`: where the host is still depooled in the pools this command left alone (item 7 of issue 14).
      const still = name === 'pool' ? await findDepools(ctx.kv, ctx.keys, otherDepooled(inv, targets)) : [];
      for (const s of still) ctx.out.info(stillDepooledNote(s));
      ctx.out.result(reportLines(report), name === 'pool' ? { ...report, stillDepooled: still } : report);
      return 0;
    });
  };
}
