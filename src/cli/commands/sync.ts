// sync [dir]: make etcd match pools/*.yaml. Any problem in any file refuses the whole sync (exit 1,
// nothing written), so a broken file can never be read as "these hosts were removed".
import { loadPools } from '../../config/pools/index.js';
import { formatProblem } from '../../model/errors.js';
import type { Pooled } from '../../model/types.js';
import { syncServices } from '../../store/sync.js';
import { withWriteContext, type CliOpts } from '../context.js';

export async function run(args: string[], opts: CliOpts): Promise<number> {
  const dir = args[0] ?? 'pools';
  const loaded = await loadPools(dir);
  if (loaded.problems.length > 0) {
    process.stderr.write(`${loaded.problems.map(formatProblem).join('\n')}\n`);
    process.stderr.write(`poolctl: sync refused: ${loaded.problems.length} problem(s) in ${dir}; nothing was written\n`);
    return 1;
  }
  return withWriteContext(opts, async (ctx) => {
    const report = await syncServices(ctx.kv, loaded, {
      keys: ctx.keys,
      actor: ctx.actor,
      reason: typeof opts.reason === 'string' ? opts.reason : `poolctl sync ${dir}`,
      dryRun: opts.dryRun === true,
      newHostPooled: (opts.newHosts as Pooled | undefined) ?? 'yes',
      operationId: ctx.operationId,
    });
    const lines = report.lines.length === 0 ? ['in sync: nothing to change'] : report.lines.map((l) => (report.dryRun ? `(dry run) ${l}` : l));
    ctx.out.result(lines, report);
    return 0;
  });
}
