// lvs render-pybal: the pybal.conf sections for every service, from pools/ (or etcd).
// lvs agent: reconcile this LVS host's IPVS table from poold's published state.
import { writeFile } from 'node:fs/promises';
import { defaultPooldUrl, renderPybal } from '../../config/pybal-render.js';
import { parseDuration } from '../../model/duration.js';
import { UsageError } from '../../model/errors.js';
import { flagsOf, type CliOpts } from '../context.js';
import { loadServiceDefs } from '../services.js';

export async function renderPybalCommand(_args: string[], opts: CliOpts): Promise<number> {
  const all = await loadServiceDefs(opts);
  const dc = typeof opts.dc === 'string' ? opts.dc : undefined;
  const services = dc === undefined ? all : all.filter((s) => s.dc === dc);
  if (services.length === 0) throw new UsageError(`no services${dc ? ` in dc ${dc}` : ''}`);
  const dcs = [...new Set(services.map((s) => s.dc))].sort();
  // A pybal.conf belongs to one site's LVS hosts, and PyBal sections are named by service alone.
  if (dcs.length > 1) throw new UsageError(`the pools span dcs ${dcs.join(', ')}; a pybal.conf serves one dc: pass --dc ${dcs[0]}`);
  const url = typeof opts.pooldUrl === 'string' ? opts.pooldUrl : defaultPooldUrl(dc ?? services[0].dc);
  const r = renderPybal(services, url, dc ? `lvs-configs/${dc}.conf` : 'pybal.conf');
  for (const w of r.warnings) process.stderr.write(`warning: ${w.service} [${w.section}]${w.check ? ` check ${w.check}` : ""}: ${w.message}\n`);
  if (typeof opts.out === 'string') await writeFile(opts.out, r.text);
  else process.stdout.write(r.text);
  return 0;
}

export async function agentCommand(_args: string[], opts: CliOpts): Promise<number> {
  const { runAgent } = await import('../../lvs/agent.js');
  const { loadEtcdOptions } = await import('../../store/connection.js');
  const { bgpConfigFromFlags } = await import('../../lvs/bgp-config.js');
  const listen = typeof opts.listen === 'string' && opts.listen !== 'none' ? parseHostPort(opts.listen) : undefined;
  const services = typeof opts.services === 'string' ? opts.services.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const period = typeof opts.period === 'string' ? parseDuration(opts.period) : undefined;
  if (period === null) throw new UsageError(`bad --period '${String(opts.period)}': a duration like 5s or 500ms`);
  const text = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  const bgp = bgpConfigFromFlags({
    bgp: opts.bgp === true, bgpLocalAsn: text('bgpLocalAsn'), bgpPeerAsn: text('bgpPeerAsn'), bgpPeerAddress: text('bgpPeerAddress'),
    bgpMed: text('bgpMed'), bgpNexthopIpv4: text('bgpNexthopIpv4'), bgpNexthopIpv6: text('bgpNexthopIpv6'), bgpRouterId: text('bgpRouterId'),
    bgpLocalIps: text('bgpLocalIps'), bgpLocalPort: text('bgpLocalPort'), bgpHoldTime: text('bgpHoldTime'), bgpConnectRetry: text('bgpConnectRetry'),
    bgpPolicy: text('bgpPolicy'), bgpDefault: text('bgpDefault'), bgpNetns: text('bgpNetns'), bgpPoll: text('bgpPoll'),
    gobgpd: text('gobgpd'), gobgp: text('gobgp'),
  });
  const agent = await runAgent({
    host: String(opts.host ?? ''),
    services,
    ipvsadmPath: typeof opts.ipvsadm === 'string' ? opts.ipvsadm : undefined,
    dryRun: opts.dryRun === true,
    source: typeof opts.poold === 'string'
      ? { kind: 'poold', url: opts.poold }
      : { kind: 'etcd', etcd: loadEtcdOptions(flagsOf(opts), process.env) },
    periodMs: period,
    listen: opts.listen === 'none' ? false : listen,
    ...(bgp ? { bgp } : {}),
  });
  process.stderr.write(`lvs agent running${agent.url ? `; status at ${agent.url}/status, metrics at ${agent.url}/metrics` : ''}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void agent.stop().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`bad --listen '${text}': expected HOST:PORT or 'none'`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}
