// Where etcd is and how to log in, from flags > environment > config file > default.
// resolveEtcdOptions is pure (the caller reads the file), so precedence is testable without I/O.
// The password is never part of any message; describeEtcdOptions() masks it.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { UsageError } from '../model/errors.js';
import type { Kv } from './kv.js';
import { DEFAULT_ETCD_ENDPOINT, type EtcdOptions } from './options.js';

export { describeEtcdOptions, type EtcdOptions } from './options.js';

/** poolctl/poold flags, as commander hands them over (camelCase of --etcd-*). */
export interface EtcdFlags {
  etcd?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPassword?: string;
  etcdConfig?: string;
  /** --conftool-v2 v2|v3|off (see EtcdOptions.conftoolV2). */
  conftoolV2?: string;
}

export type Env = Record<string, string | undefined>;

type Field = 'endpoints' | 'ca' | 'cert' | 'key' | 'user' | 'password' | 'conftoolV2';

const FILE_KEYS: Record<string, Field> = {
  endpoints: 'endpoints', hosts: 'endpoints', ca: 'ca', cert: 'cert', key: 'key',
  user: 'user', username: 'user', password: 'password', conftool_v2: 'conftoolV2',
};

function splitEndpoints(s: string, where: string): string[] {
  const list = s.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (list.length === 0) throw new UsageError(`${where}: no etcd endpoint in "${s}"; expected URL[,URL]`, { where });
  for (const e of list) {
    if (!/^https?:\/\/[^/]+/.test(e)) {
      throw new UsageError(`${where}: etcd endpoint "${e}" is not an http(s) URL; expected e.g. https://etcd1001:2379`, { where, endpoint: e });
    }
  }
  return list;
}

/** The config file's values. The file may use conftool-ish names (hosts, username) too. */
function parseFile(text: string, path: string): Partial<Record<Field, string>> {
  // Loaded only when a config file is in use, to keep poolctl's start-up lean.
  const YAML = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new UsageError(`${path}: not valid YAML: ${(err as Error).message}`, { path }, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${path}: expected a mapping of etcd settings`, { path });
  const out: Partial<Record<Field, string>> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const field = FILE_KEYS[k];
    if (field === undefined) {
      throw new UsageError(`${path}: unknown setting "${k}"; allowed: ${Object.keys(FILE_KEYS).join(', ')}`, { path, setting: k });
    }
    if (field === 'endpoints' && Array.isArray(v) && v.every((e) => typeof e === 'string')) {
      out.endpoints = v.join(',');
    } else if (typeof v === 'string' || (field === 'password' && typeof v === 'number')) {
      out[field] = String(v);
    } else {
      throw new UsageError(`${path}: setting "${k}" must be a string${field === 'endpoints' ? ' or a list of URLs' : ''}`, { path, setting: k });
    }
  }
  return out;
}

/** The config file path from --etcd-config or POOLD_ETCD_CONFIG, if any. */
export function etcdConfigPath(flags: EtcdFlags, env: Env): string | undefined {
  return flags.etcdConfig ?? env.POOLD_ETCD_CONFIG;
}

/**
 * Merges flags, env and the config file text (if the caller read one) field by field:
 * flags win over env, env over file, file over the default endpoint.
 */
export function resolveEtcdOptions(flags: EtcdFlags, env: Env, fileText?: string): EtcdOptions {
  const path = etcdConfigPath(flags, env) ?? 'etcd config';
  const file = fileText === undefined ? {} : parseFile(fileText, path);
  const fromEnv: Partial<Record<Field, string>> = {
    endpoints: env.POOLD_ETCD, ca: env.POOLD_ETCD_CA, cert: env.POOLD_ETCD_CERT, key: env.POOLD_ETCD_KEY,
    user: env.POOLD_ETCD_USER, password: env.POOLD_ETCD_PASSWORD, conftoolV2: env.POOLD_CONFTOOL_V2,
  };
  const fromFlags: Partial<Record<Field, string>> = {
    endpoints: flags.etcd, ca: flags.etcdCa, cert: flags.etcdCert, key: flags.etcdKey,
    user: flags.etcdUser, password: flags.etcdPassword, conftoolV2: flags.conftoolV2,
  };
  const pick = (f: Field): { value: string; where: string } | undefined => {
    for (const [src, where] of [[fromFlags, '--etcd flags'], [fromEnv, 'environment'], [file, path]] as const) {
      const v = src[f];
      if (v !== undefined && v !== '') return { value: v, where };
    }
    return undefined;
  };
  const ep = pick('endpoints');
  const opts: EtcdOptions = { endpoints: ep ? splitEndpoints(ep.value, ep.where) : [DEFAULT_ETCD_ENDPOINT] };
  for (const f of ['ca', 'cert', 'key', 'user', 'password'] as const) {
    const v = pick(f);
    if (v !== undefined) opts[f] = v.value;
  }
  const v2 = pick('conftoolV2');
  if (v2 !== undefined && v2.value !== 'off') {
    if (v2.value !== 'v2' && v2.value !== 'v3') {
      throw new UsageError(`${v2.where}: conftool v2 setting "${v2.value}" is not one of v2, v3, off ` +
        '(v2/v3: keep conftool pools in etcd v2 too, that side winning concurrent changes of one field)', { where: v2.where });
    }
    opts.conftoolV2 = v2.value;
  }
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    throw new UsageError('etcd client certificate and key go together: give both --etcd-cert and --etcd-key (or neither)', {});
  }
  if (opts.password !== undefined && opts.user === undefined) {
    throw new UsageError('an etcd password was given without a user: add --etcd-user (or POOLD_ETCD_USER)', {});
  }
  return opts;
}

/** resolveEtcdOptions plus reading the config file when one is named. */
export function loadEtcdOptions(flags: EtcdFlags, env: Env): EtcdOptions {
  const path = etcdConfigPath(flags, env);
  let text: string | undefined;
  if (path !== undefined) {
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read etcd config ${path}: ${(err as Error).message}`, { path }, { cause: err });
    }
  }
  return resolveEtcdOptions(flags, env, text);
}

export type KvAdapter = 'gateway' | 'etcd3';

/**
 * Opens a Kv. The CLI uses the default gateway adapter (node:http only); the daemon asks for
 * 'etcd3' (and gets an Etcd3Kv whose `client` serves watches, leases and elections).
 */
export async function openKv(options: EtcdOptions, adapter: KvAdapter = 'gateway'): Promise<Kv> {
  if (adapter === 'etcd3') {
    const { Etcd3Kv } = await import('./kv-etcd3.js');
    return new Etcd3Kv(options);
  }
  const { GatewayKv } = await import('./kv-gateway.js');
  return new GatewayKv(options);
}
