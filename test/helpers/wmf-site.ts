// Test and bench helper: a real site (Wikimedia's eqiad by default) made runnable on loopback. It renders
// the site's pybal.conf from the public catalog (wmf-catalog.ts), imports it with the real
// `poolctl import pybal` and conftool-data's node file, then points every imported host at a loopback
// address by writing `address:` on the host in the pools/ YAML (the field an operator uses for a host
// whose name does not resolve; the checks connect to it, the conftool key keeps the host's name).
// The simulator backends follow from the result: one per distinct (address, port) that a section checks,
// TLS where the section's http check is https (PyBal did not verify certificates; the import says so).
//
// Every distinct host gets its own 127.80.x.y, as on a real network (the pools/ loader refuses two hosts
// on one address, so hosts cannot share a simulated backend): one held idle connection per (section, host).
// `scale` < 1 keeps the first ceil(n × scale) hosts of every pool (at least 1, so every section stays):
// the affordable test and the bench's reduced size.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, isMap, type YAMLMap } from 'yaml';
import { loadPoolsFromTexts } from '../../src/config/pools/index.js';
import type { ServiceDef } from '../../src/model/types.js';
import type { BackendSpec } from '../../src/sim/behaviours.js';
import { runPoolctl, type RunResult } from './poolctl.js';
import { renderRealPybalConf, wmfFiles } from './wmf-catalog.js';

export interface WmfSite {
  dc: string;
  /** The rendered pybal.conf and the pools/ directory (one file, `<dc>.yaml`) ready for `poolctl sync`. */
  confFile: string;
  poolsDir: string;
  services: ServiceDef[];
  /** Sum over sections of their hosts: the (section, host) targets poold checks. */
  targets: number;
  hosts: number;
  /** Hosts per pool `<cluster>/<service>` as imported, before `scale`. */
  importedHosts: Record<string, number>;
  backends: BackendSpec[];
  /** poolctl import's stderr summary line (warnings, problems). */
  importSummary: string;
  importMs: number;
}

const addr = (base: number, n: number) => `127.${base}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;

export async function prepareWmfSite(workDir: string, o: { dc?: string; scale?: number; run?: (args: string[]) => Promise<RunResult> }): Promise<WmfSite> {
  const dc = o.dc ?? 'eqiad';
  const scale = o.scale ?? 1;
  if (!(scale > 0 && scale <= 1)) throw new Error(`scale must be in (0, 1], got ${scale}`);
  const files = wmfFiles();
  const confFile = join(workDir, `${dc}.conf`);
  writeFileSync(confFile, renderRealPybalConf(dc));
  const imported = join(workDir, `${dc}.imported.yaml`);
  const t0 = performance.now();
  const r = await (o.run ?? ((a: string[]) => runPoolctl(a, {}, { timeoutMs: 180_000 })))(['import', 'pybal', confFile, '--dc', dc, '--conftool-nodes', files.nodes(dc), '--out', imported]);
  const importMs = performance.now() - t0;
  if (r.code !== 0) throw new Error(`poolctl import pybal exited ${r.code}: ${r.stderr.split('\n').slice(-5).join('\n')}`);
  const importSummary = r.stderr.trim().split('\n').at(-1) ?? '';

  const doc = parseDocument(readFileSync(imported, 'utf8'));
  const pools = doc.get('pools');
  if (!isMap(pools)) throw new Error(`${imported}: no pools map`);
  const hostAddress = new Map<string, string>();
  const importedHosts: Record<string, number> = {};
  for (const pair of (pools as YAMLMap).items) {
    const servers = (pair.value as YAMLMap).get('servers') as YAMLMap;
    importedHosts[String((pair.key as { value: unknown }).value ?? pair.key)] = servers.items.length;
    const keep = Math.max(1, Math.ceil(servers.items.length * scale));
    servers.items.splice(keep);
    servers.items.forEach((item) => {
      const host = String((item.key as { value: unknown }).value ?? item.key);
      const a = hostAddress.get(host) ?? addr(80, hostAddress.size);
      hostAddress.set(host, a);
      (item.value as YAMLMap).set('address', a);
    });
  }
  const poolsDir = join(workDir, 'pools');
  mkdirSync(poolsDir, { recursive: true });
  const text = doc.toString({ lineWidth: 0 });
  writeFileSync(join(poolsDir, `${dc}.yaml`), text);
  const loaded = loadPoolsFromTexts([{ file: `${dc}.yaml`, text }]);
  if (loaded.problems.length > 0) throw new Error(`the addressed pools/ YAML does not load: ${JSON.stringify(loaded.problems.slice(0, 3))}`);

  const backends = new Map<string, BackendSpec>();
  const hosts = new Set<string>();
  let targets = 0;
  for (const s of loaded.services) {
    const tls = s.checks.some((c) => c.kind === 'http' && c.scheme === 'https');
    for (const [host, server] of Object.entries(s.servers)) {
      targets++;
      hosts.add(host);
      const key = `${server.address}:${s.lvs.port}`;
      const b: BackendSpec = { address: server.address!, port: s.lvs.port, behaviour: tls ? 'bad-tls' : 'ok', anyPath: true };
      const prev = backends.get(key);
      // Two sections on one address and port must agree on TLS, or one of them checks the wrong server.
      if (prev && prev.behaviour !== b.behaviour) throw new Error(`${key}: sections disagree on TLS`);
      backends.set(key, b);
    }
  }
  return { dc, confFile, poolsDir, services: loaded.services, targets, hosts: hosts.size, importedHosts, backends: [...backends.values()], importSummary, importMs };
}
