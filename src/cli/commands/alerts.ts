// alerts --url URL: read poold's /alerts (the check_pybal way); with --nagios, as an Icinga plugin.
import { UsageError } from '../../model/errors.js';
import { fetchAlertsNagios } from '../../monitoring/alerts-plugin.js';
import type { CliOpts } from '../context.js';

export async function run(_args: string[], opts: CliOpts): Promise<number> {
  const url = typeof opts.url === 'string' && opts.url !== '' ? opts.url : 'http://127.0.0.1:9090/alerts';
  if (!/^https?:\/\//.test(url)) throw new UsageError(`bad --url '${url}': expected http(s)://host:port/alerts`);
  const pool = typeof opts.pool === 'string' && opts.pool !== '' ? opts.pool : undefined;
  const n = await fetchAlertsNagios(url, { pool });
  process.stdout.write(`${n.output}\n`);
  return opts.nagios === true ? n.exit : n.exit === 0 ? 0 : 1;
}
