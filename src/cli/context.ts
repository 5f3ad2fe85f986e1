// What every etcd-touching command needs: a Kv (the lean gateway adapter, see ARCHITECTURE.md §9), the key
// layout, the actor for the audit log, and output. Built once per invocation.
import { loadEtcdOptions, openKv, type EtcdFlags } from '../store/connection.js';
import { newOperationId, resolveActor } from '../store/audit.js';
import { PartialWriteError } from '../store/errors.js';
import { Keys } from '../store/keys.js';
import type { Kv } from '../store/kv.js';
import type { V2Client } from '../store/v2-client.js';
import { makeOutput, type Output } from './output.js';
import { reportPartialWrite } from './partial.js';
import { userInfo } from 'node:os';

/** The login name of this process, for the audit actor when neither SUDO_USER nor USER is set (cron, systemd). */
function osUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    // userInfo throws only when this uid has no passwd entry (containers); the etcd user, or
    // 'unknown', then stands in, which the audit record shows plainly.
    return undefined;
  }
}

export interface CliContext {
  kv: Kv;
  keys: Keys;
  out: Output;
  actor: string;
  /** One per poolctl command: on every audit record it writes, across all its transactions. */
  operationId: string;
  /** Set with --conftool-v2: admin writes go to etcd v2 first (store/write-v2.ts). */
  v2?: V2Client;
  close(): Promise<void>;
}

export type CliOpts = Record<string, unknown>;

export function flagsOf(opts: CliOpts): EtcdFlags {
  const s = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  return {
    etcd: s('etcd'), etcdCa: s('etcdCa'), etcdCert: s('etcdCert'), etcdKey: s('etcdKey'),
    etcdUser: s('etcdUser'), etcdPassword: s('etcdPassword'), etcdConfig: s('etcdConfig'),
    conftoolV2: s('conftoolV2'),
  };
}

export async function openContext(opts: CliOpts): Promise<CliContext> {
  const options = loadEtcdOptions(flagsOf(opts), process.env);
  const kv = await openKv(options, 'gateway');
  const v2 = options.conftoolV2 === undefined ? undefined : new (await import('../store/v2-client.js')).V2Client(options);
  const keys = new Keys({ conftool: process.env.POOLD_CONFTOOL_ROOT, poold: process.env.POOLD_ROOT });
  return {
    kv,
    keys,
    out: makeOutput(opts.json === true),
    actor: resolveActor({ ...process.env, USER: process.env.USER ?? osUser() }, options.user),
    operationId: newOperationId(),
    ...(v2 ? { v2 } : {}),
    close: async () => {
      await v2?.close();
      await kv.close();
    },
  };
}

/** Runs `fn` with a context and always closes it (keep-alive sockets would hold the process open). */
export async function withContext<T>(opts: CliOpts, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const ctx = await openContext(opts);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** withContext for commands that write: a write that failed part-way is reported (what landed, what not) and exits 1. */
export async function withWriteContext(opts: CliOpts, fn: (ctx: CliContext) => Promise<number>): Promise<number> {
  return withContext(opts, async (ctx) => {
    try {
      return await fn(ctx);
    } catch (err) {
      if (err instanceof PartialWriteError) return reportPartialWrite(ctx.out, ctx.keys, err);
      throw err;
    }
  });
}
