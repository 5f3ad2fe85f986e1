// select SELECTOR ACTION: conftool's `confctl select 'dc=eqiad,name=mw1.*' set/pooled=no`.
// Actions: get | pool | depool | drain | decommission | weight N | weight=N | set/pooled=..:weight=..
import { UsageError } from '../../model/errors.js';
import { parseSelector } from '../../model/selector.js';
import { POOLED_VALUES, poolPath, type Pooled } from '../../model/types.js';
import { applyAdminChange, reportLines, type AdminPatch } from '../admin-change.js';
import { withWriteContext, type CliOpts } from '../context.js';
import { readInventory, selectHosts } from '../inventory.js';
import { parseWeight } from './admin-verbs.js';

export function parseAction(words: string[]): { kind: 'get' } | { kind: 'set'; patch: AdminPatch } {
  const [head, ...rest] = words;
  const fixed: Record<string, AdminPatch> = { pool: { pooled: 'yes' }, depool: { pooled: 'no' }, drain: { weight: 0 }, decommission: { pooled: 'inactive' } };
  if (head === 'get' && rest.length === 0) return { kind: 'get' };
  if (head in fixed && rest.length === 0) return { kind: 'set', patch: fixed[head] };
  if (head === 'weight' && rest.length === 1) return { kind: 'set', patch: { weight: parseWeight(rest[0]) } };
  if (head?.startsWith('weight=') && rest.length === 0) return { kind: 'set', patch: { weight: parseWeight(head.slice(7)) } };
  if (head?.startsWith('set/') && rest.length === 0) {
    const patch: AdminPatch = {};
    for (const pair of head.slice(4).split(':')) {
      const [k, v, extra] = pair.split('=');
      if (v === undefined || extra !== undefined) throw new UsageError(`bad set action '${head}': expected set/pooled=no:weight=5`);
      if (k === 'pooled') {
        if (!(POOLED_VALUES as readonly string[]).includes(v)) throw new UsageError(`bad pooled value '${v}': use yes, no or inactive`);
        patch.pooled = v as Pooled;
      } else if (k === 'weight') patch.weight = parseWeight(v);
      else throw new UsageError(`cannot set '${k}': poolctl sets pooled and weight`);
    }
    return { kind: 'set', patch };
  }
  throw new UsageError(`unknown action '${words.join(' ')}': use get, pool, depool, drain, decommission, weight N, or set/pooled=no:weight=5`);
}

export async function run(args: string[], opts: CliOpts): Promise<number> {
  const [selText, ...actionWords] = args;
  const selector = parseSelector(selText);
  const action = parseAction(actionWords);
  return withWriteContext(opts, async (ctx) => {
    const inv = await readInventory(ctx);
    const hosts = selectHosts(inv, selector, selText);
    if (action.kind === 'get') {
      ctx.out.result(
        hosts.map((h) => `${poolPath(h)} ${h.host}: ${h.value === null ? `INVALID (${h.invalid})` : JSON.stringify(h.value)}`),
        hosts.map((h) => ({ dc: h.dc, cluster: h.cluster, service: h.service, host: h.host, value: h.value, invalid: h.invalid })),
      );
      return 0;
    }
    const report = await applyAdminChange(ctx, inv, hosts, action.patch, {
      reason: typeof opts.reason === 'string' ? opts.reason : undefined,
      dryRun: opts.dryRun === true,
      yes: opts.yes === true,
      force: opts.force === true,
    });
    for (const w of report.warnings) ctx.out.warn(w);
    ctx.out.result(reportLines(report), report);
    return 0;
  });
}
