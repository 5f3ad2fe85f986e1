// conftool-data's node files (`conftool-data/node/<dc>.yaml`): `<dc>: <cluster>: <host>: [<service>, ...]`.
// A host listed with a service is a member of the conftool pool /pools/<dc>/<cluster>/<service>/. Clusters
// may share hosts through YAML aliases (`videoscaler: *jobrunner`). conftool's syncer creates a node it
// has not seen with weight 0 and pooled inactive (conftool/node.py's defaults): the file carries no weights.
import { ConfigError, type ConfigProblem } from '../model/errors.js';
import type { Pos } from './pools/yaml-locate.js';
import { parseLocatedYaml } from './yaml-located.js';

/** What conftool gives a node it creates (Node._defaults): no traffic until an operator sets weight and pools it. */
export const CONFTOOL_NEW_NODE = { weight: 0, pooled: 'inactive' } as const;

export interface ConftoolNodes {
  file: string;
  /** dc → cluster → host → services. */
  dcs: Map<string, Map<string, Map<string, string[]>>>;
  /** Where each `<dc>/<cluster>` is written. */
  clusterAt: Map<string, Pos>;
}

/** Parses a node file; every malformed entry is a located problem (ConfigError). */
export function parseConftoolNodes(text: string, file: string): ConftoolNodes {
  const doc = parseLocatedYaml(text, file);
  const problems: ConfigProblem[] = [...doc.problems];
  const bad = (at: Pos, message: string) => problems.push({ file, ...at, message });
  const out: ConftoolNodes = { file, dcs: new Map(), clusterAt: new Map() };
  if (doc.root !== undefined && !doc.root.map) bad(doc.root.at, 'expected <dc>: <cluster>: <host>: [<service>, ...]');
  for (const [dc, dcEntry] of doc.root?.map ?? []) {
    const clusters = new Map<string, Map<string, string[]>>();
    out.dcs.set(dc, clusters);
    if (!dcEntry.node.map) {
      bad(dcEntry.node.at, `${dc}: expected a map of cluster to hosts`);
      continue;
    }
    for (const [cluster, cEntry] of dcEntry.node.map) {
      out.clusterAt.set(`${dc}/${cluster}`, cEntry.keyAt);
      const hosts = new Map<string, string[]>();
      clusters.set(cluster, hosts);
      // `cluster:` with nothing under it is an empty cluster, as conftool reads it.
      if (cEntry.node.value === null) continue;
      if (!cEntry.node.map) {
        bad(cEntry.node.at, `${dc}/${cluster}: expected a map of host to its services`);
        continue;
      }
      for (const [host, hEntry] of cEntry.node.map) {
        const services = hEntry.node.value === null ? [] : hEntry.node.seq?.map((s) => s.value);
        if (!services || services.some((s) => typeof s !== 'string')) {
          bad(hEntry.node.at, `${dc}/${cluster}/${host}: expected a list of service names`);
          continue;
        }
        hosts.set(host, services as string[]);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** The hosts of the conftool pool <dc>/<cluster>/<service>, sorted. */
export function poolHosts(nodes: ConftoolNodes, dc: string, cluster: string, service: string): string[] {
  const hosts = nodes.dcs.get(dc)?.get(cluster);
  if (!hosts) return [];
  return [...hosts].filter(([, services]) => services.includes(service)).map(([h]) => h).sort();
}
