// Where an imported PyBal section's real servers come from: its `config =` value.
//   etcd://host[:port]<prefix>/pools/<dc>/<cluster>/<service>/  names the conftool pool exactly;
//   http://config-master.<dc>.wmnet/pybal/<dc>/<svc>            is rendered by confd from the pool that the
//                                                                catalog's <svc>.lvs.conftool names;
//   file://... (or a path)                                        is a local server list (read by the caller).
// etcd and config-master pools get their hosts from conftool-data's node file, as conftool itself does.
import { CONFTOOL_NEW_NODE, poolHosts, type ConftoolNodes } from './conftool-nodes.js';
import type { WmfCatalog } from './wmf-catalog.js';

export interface EtcdPoolUrl {
  /** host[:port] PyBal reads etcd from. */
  endpoint: string;
  /** The conftool key root, e.g. /conftool/v1. */
  prefix: string;
  dc: string;
  cluster: string;
  service: string;
}

const ETCD_POOL = /^(.*)\/pools\/([^/]+)\/([^/]+)\/([^/]+)\/?$/;
const CONFIG_MASTER = /\/pybal\/([^/]+)\/([^/]+)\/?$/;

/** Parses `etcd://host[:port]/<prefix>/pools/<dc>/<cluster>/<service>/`; a string saying why not otherwise. */
export function parseEtcdPoolUrl(config: string): EtcdPoolUrl | string {
  let url: URL;
  try {
    url = new URL(config);
  } catch {
    return 'not a URL';
  }
  const m = ETCD_POOL.exec(decodeURIComponent(url.pathname));
  if (!m) return 'its path is not <prefix>/pools/<dc>/<cluster>/<service>/';
  return { endpoint: url.host, prefix: m[1], dc: m[2], cluster: m[3], service: m[4] };
}

/** `http(s)://…/pybal/<dc>/<svc>`: the config-master server list of catalog service <svc>. */
export function parseConfigMasterUrl(config: string): { dc: string; service: string } | undefined {
  if (!/^https?:\/\//.test(config)) return undefined;
  const m = CONFIG_MASTER.exec(config);
  return m ? { dc: m[1], service: m[2] } : undefined;
}

/** The pool config-master renders at /pybal/<dc>/<svc>: the catalog service's lvs.conftool. */
export function configMasterPool(catalog: WmfCatalog | undefined, service: string): { cluster: string; service: string } | undefined {
  return catalog?.services.find((s) => s.name === service)?.lvs?.conftool;
}

/** A pool's servers from the node file, each with the weight conftool gives a node it creates. */
export function nodeServers(nodes: ConftoolNodes, dc: string, cluster: string, service: string): Record<string, { weight: number }> {
  const out: Record<string, { weight: number }> = {};
  for (const host of poolHosts(nodes, dc, cluster, service)) out[host] = { weight: CONFTOOL_NEW_NODE.weight };
  return out;
}
