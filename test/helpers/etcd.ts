// Private etcd instances for tests: free loopback ports, temp data dirs on tmpfs, nothing left
// behind when the test process ends. See etcd-process.ts for the orphan guard.
//
//   const etcd = await startEtcd();            // { endpoints, clientUrl, stop, kill, restart, dataDir }
//   t.teardown(() => etcd.stop());
//   const c = await startEtcdCluster(3);       // c.members[i].kill()/restart(), c.leaderIndex()
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { EtcdMember, EtcdStartError, ETCDCTL_BIN, memberDir, type EtcdTlsFiles } from './etcd-process.js';
import { freePorts } from './etcd-ports.js';
import { generateTls } from './etcd-tls.js';

export type { EtcdTlsFiles } from './etcd-process.js';

export interface StartEtcdOptions {
  /** Serve clients over https with a throwaway CA; clients must present the returned client cert. */
  tls?: boolean;
  /** Also serve the v2 API (`--enable-v2`), as conftool 3.x and PyBal's etcd:// need; see etcdctlV2(). */
  enableV2?: boolean;
  /** A backend quota below etcd's default (MemberSpec.smallBackendBytes): only for the NOSPACE test. */
  smallBackendBytes?: number;
}

export interface EtcdControl {
  /** Graceful stop (SIGTERM). Data is kept, so restart() works afterwards. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash. */
  kill(): Promise<void>;
  /** Starts again on the same ports and data dir (stopping first if still running). */
  restart(): Promise<void>;
}

export interface EtcdInstance extends EtcdControl {
  endpoints: string[];
  clientUrl: string;
  dataDir: string;
  /** Client TLS files, when started with `tls: true`. */
  tls?: EtcdTlsFiles;
  /** Runs etcdctl against this instance (as root when auth was enabled with enableAuth()). */
  etcdctl(args: string[]): Promise<string>;
  /** Set by enableAuth(); etcdctl() then authenticates as root. */
  rootPassword?: string;
  /** Runs Debian's etcdctl with ETCDCTL_API=2 (the v2 keys API: set, get, ls, rm, mkdir, ...). Needs enableV2. */
  etcdctlV2(args: string[]): Promise<string>;
}

const MAX_ATTEMPTS = 5;

async function startSingle(opts: StartEtcdOptions): Promise<{ member: EtcdMember; tls?: EtcdTlsFiles }> {
  let last: unknown;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const dir = memberDir('single');
    const tls = opts.tls ? generateTls(dir) : undefined;
    const [clientPort, peerPort] = await freePorts(2);
    const member = new EtcdMember({
      name: 'm0', clientPort, peerPort, dataDir: join(dir, 'data'),
      initialCluster: `m0=http://127.0.0.1:${peerPort}`,
      heartbeatMs: 10, electionMs: 100,
      ...(opts.enableV2 ? { enableV2: true } : {}),
      ...(opts.smallBackendBytes !== undefined ? { smallBackendBytes: opts.smallBackendBytes } : {}),
      ...(tls ? { tls: { ...tls.server, client: tls.client } } : {}),
    }, dir);
    try {
      await member.start();
      return { member, tls: tls?.client };
    } catch (err) {
      last = err;
      await member.kill();
      // Another process took a port between our probe and etcd's bind: choose again.
      if (!(err instanceof EtcdStartError && err.addrInUse)) throw err;
    }
  }
  throw last;
}

export function etcdctlRunner(endpoints: string[], tls: EtcdTlsFiles | undefined, user: () => string | undefined) {
  return (args: string[]): Promise<string> => new Promise((resolve, reject) => {
    const a = [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=5s', '--command-timeout=10s'];
    if (tls) a.push(`--cacert=${tls.caFile}`, `--cert=${tls.certFile}`, `--key=${tls.keyFile}`);
    const u = user();
    if (u !== undefined) a.push(`--user=${u}`);
    execFile(ETCDCTL_BIN, [...a, ...args], { env: { ...process.env, ETCDCTL_API: '3' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`etcdctl ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** etcdctl speaking etcd's v2 API (ETCDCTL_API=2), as an operator's or conftool's v2 writes. */
export function etcdctlV2Runner(endpoints: string[], tls: EtcdTlsFiles | undefined) {
  return (args: string[]): Promise<string> => new Promise((resolve, reject) => {
    const a = [`--endpoints=${endpoints.join(',')}`, '--no-sync', '--timeout=5s', '--total-timeout=10s'];
    if (tls) a.push(`--ca-file=${tls.caFile}`, `--cert-file=${tls.certFile}`, `--key-file=${tls.keyFile}`);
    execFile(ETCDCTL_BIN, [...a, ...args], { env: { ...process.env, ETCDCTL_API: '2' } }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(new Error(`ETCDCTL_API=2 etcdctl ${args.join(' ')} failed: ${stderr || err.message}`), { stderr, code: err.code }));
      else resolve(stdout);
    });
  });
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdInstance> {
  const { member, tls } = await startSingle(opts);
  const inst: EtcdInstance = {
    endpoints: [member.clientUrl],
    clientUrl: member.clientUrl,
    dataDir: member.spec.dataDir,
    ...(tls ? { tls } : {}),
    stop: () => member.stop(),
    kill: () => member.kill(),
    restart: () => member.restart(),
    etcdctl: (args) => run(args),
    etcdctlV2: (args) => etcdctlV2Runner(inst.endpoints, tls)(args),
  };
  const run = etcdctlRunner(inst.endpoints, tls, () => inst.rootPassword === undefined ? undefined : `root:${inst.rootPassword}`);
  return inst;
}

export interface EtcdClusterMember extends EtcdControl {
  name: string;
  clientUrl: string;
  dataDir: string;
  running(): boolean;
}

export interface EtcdCluster {
  endpoints: string[];
  members: EtcdClusterMember[];
  /** Index of the current leader among running members (asks each member's status). */
  leaderIndex(): Promise<number>;
  /** Stops every member. */
  stop(): Promise<void>;
  etcdctl(args: string[]): Promise<string>;
}

export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  let last: unknown;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const ports = await freePorts(size * 2);
    const names = Array.from({ length: size }, (_, i) => `m${i}`);
    const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[2 * i + 1]}`).join(',');
    const members = names.map((name, i) => {
      const dir = memberDir(`cluster-${name}`);
      // Slower than the single node's timings: three members on two busy cores must not flap.
      return new EtcdMember({
        name, clientPort: ports[2 * i], peerPort: ports[2 * i + 1], dataDir: join(dir, 'data'),
        initialCluster, heartbeatMs: 50, electionMs: 500,
      }, dir);
    });
    try {
      // Members of a new cluster only become healthy together, so spawn all before waiting.
      for (const m of members) m.spawnProcess();
      await Promise.all(members.map((m) => m.waitHealthy(30000)));
      return clusterHandle(members);
    } catch (err) {
      last = err;
      await Promise.all(members.map((m) => m.kill()));
      if (!(err instanceof EtcdStartError && err.addrInUse)) throw err;
    }
  }
  throw last;
}

function clusterHandle(members: EtcdMember[]): EtcdCluster {
  const endpoints = members.map((m) => m.clientUrl);
  const run = etcdctlRunner(endpoints, undefined, () => undefined);
  return {
    endpoints,
    members: members.map((m) => ({
      name: m.spec.name,
      clientUrl: m.clientUrl,
      dataDir: m.spec.dataDir,
      running: () => m.running,
      stop: () => m.stop(),
      kill: () => m.kill(),
      restart: () => m.restart(),
    })),
    async leaderIndex(): Promise<number> {
      const up = members.filter((m) => m.running).map((m) => m.clientUrl);
      const out = await etcdctlRunner(up, undefined, () => undefined)(['endpoint', 'status', '-w', 'json']);
      // member ids are uint64: quote them before JSON.parse so they keep every digit.
      const statuses = JSON.parse(out.replace(/"(member_id|leader)":(\d+)/g, '"$1":"$2"')) as { Endpoint: string; Status: { header: { member_id: number | string }; leader: number | string } }[];
      const leaderStatus = statuses.find((s) => String(s.Status.header.member_id) === String(s.Status.leader));
      if (!leaderStatus) throw new Error(`no leader among ${up.join(', ')}`);
      return members.findIndex((m) => m.clientUrl === leaderStatus.Endpoint);
    },
    async stop() {
      await Promise.all(members.map((m) => m.stop()));
    },
    etcdctl: (args) => run(args),
  };
}

export { enableAuth, addPrefixUser } from './etcd-auth.js';
