// get <host>: the host's conftool state in every pool it is in, as conftool prints it.
import { withContext, type CliOpts } from '../context.js';
import { parseServiceFilter, readInventory, resolveHost } from '../inventory.js';
import { poolPath } from '../../model/types.js';

export async function run(args: string[], opts: CliOpts): Promise<number> {
  return withContext(opts, async (ctx) => {
    const inv = await readInventory(ctx);
    const hosts = resolveHost(inv, args[0], parseServiceFilter(typeof opts.service === 'string' ? opts.service : undefined));
    ctx.out.result(
      hosts.map((h) => `${poolPath(h)} ${h.host}: ${h.value === null ? `INVALID (${h.invalid})` : JSON.stringify(h.value)}`),
      hosts.map((h) => ({ dc: h.dc, cluster: h.cluster, service: h.service, host: h.host, value: h.value, invalid: h.invalid })),
    );
    return 0;
  });
}
