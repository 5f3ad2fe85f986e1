// audit: recent audit records, newest first, filterable by host, actor, key prefix and operation.
import { UsageError } from '../../model/errors.js';
import { listAudit } from '../../store/audit.js';
import { withContext, type CliOpts } from '../context.js';
import { readInventory, resolveHost } from '../inventory.js';

export async function run(_args: string[], opts: CliOpts): Promise<number> {
  const limit = Number(opts.limit ?? 20);
  if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`bad --limit '${String(opts.limit)}': a whole number > 0`);
  return withContext(opts, async (ctx) => {
    const keyPrefix = typeof opts.key === 'string' ? opts.key : undefined;
    let hostKeys: Set<string> | undefined;
    if (typeof opts.host === 'string') {
      const inv = await readInventory(ctx);
      hostKeys = new Set(resolveHost(inv, opts.host).map((h) => h.key));
    }
    const records = (await listAudit(ctx.kv, ctx.keys, {
      limit: hostKeys === undefined ? limit : Math.max(limit * 20, 1000),
      keyPrefix,
      actor: typeof opts.actor === 'string' ? opts.actor : undefined,
      operationId: typeof opts.op === 'string' ? opts.op : undefined,
    })).filter((r) => hostKeys === undefined || hostKeys.has(r.key)).slice(0, limit);
    ctx.out.result(
      records.map((r) => `${r.time} ${r.actor} ${r.key} ${JSON.stringify(r.before)} -> ${JSON.stringify(r.after)}${r.reason ? ` (${r.reason})` : ''}`),
      records,
    );
    return 0;
  });
}
