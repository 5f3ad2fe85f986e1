// Reading poold's /v1/pools/:dc/:name answer for the agent's --poold mode. Values read from etcd
// (definitions, published state) are decoded by src/store/decode.ts, as everywhere else; this is
// the API's shape, checked with the same field rules, so a half-understood answer is an
// InvalidStoredValueError naming the URL, and the agent keeps the service's table as it is.
import type { EffectiveServer, LvsDef, PoolRef, PoolState, ServiceKey } from '../model/types.js';
import { decodeLvsDef, decodePooled, decodeServiceKey } from '../store/decode.js';
import { bool, fail, int, obj, str } from '../store/decode-fields.js';

/**
 * poold's `GET /v1/pools/:dc/:name` answer → the LvsDef and the PoolState it describes.
 * `lvs` is null when poold has no definition for the pool; `state` is undefined before any state.
 */
export function parsePoolDetail(body: unknown, where: string, expected: ServiceKey): { lvs: LvsDef | null; pool: PoolRef; state: PoolState | undefined; addresses: Record<string, string> } {
  const o = obj(body, where);
  const key = decodeServiceKey(o, where, expected);
  const pool = { cluster: str(o, 'cluster', where), service: str(o, 'service', where) };
  const lvs = o.lvs === null || o.lvs === undefined ? null : decodeLvsDef(o.lvs, where);
  if (o.revision === null || o.revision === undefined) return { lvs, pool, state: undefined, addresses: {} };
  const hosts = Array.isArray(o.hosts) ? o.hosts : fail(where, '"hosts" must be an array');
  const servers: Record<string, EffectiveServer> = {};
  const pooledDown: string[] = [];
  const addresses: Record<string, string> = {};
  for (const [i, h] of hosts.entries()) {
    const w = `${where} hosts[${i}]`;
    const ho = obj(h, w);
    const host = str(ho, 'host', w);
    const admin = obj(ho.admin, `${w} admin`);
    const eff = obj(ho.effective, `${w} effective`);
    servers[host] = {
      pooledAdmin: decodePooled(admin.pooled, `${w} admin`),
      enabled: bool(eff, 'enabled', `${w} effective`),
      up: bool(eff, 'up', `${w} effective`),
      pooled: bool(eff, 'pooled', `${w} effective`),
      weight: int(eff, 'weight', `${w} effective`),
      reason: typeof ho.reason === 'string' ? ho.reason : '',
      flapping: ho.flapping === true,
      findings: [],
    };
    if (ho.keptByThreshold === true) pooledDown.push(host);
    if (ho.address !== undefined) addresses[host] = str(ho, 'address', w);
  }
  const threshold = o.threshold === null || o.threshold === undefined ? undefined : obj(o.threshold, `${where} threshold`);
  return {
    lvs,
    pool,
    addresses,
    state: {
      ...key,
      pool,
      revision: int(o, 'revision', where),
      updatedAt: typeof o.updatedAt === 'number' ? o.updatedAt : 0,
      depoolThreshold: typeof threshold?.depoolThreshold === 'number' ? threshold.depoolThreshold : 0,
      servers,
      pooledDown,
    },
  };
}
