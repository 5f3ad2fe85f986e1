// A clean minimal Debian root to install the packages into, and a way to run commands inside it.
//
// The root is debootstrapped once from the Debian mirror apt already uses (read from
// /etc/apt/sources.list*) and cached as a tarball under var/cache/deb-root/ (gitignored): the first
// run takes minutes, later ones unpack the tarball in seconds. The suite is trixie unless
// POOLD_DEB_SUITE says otherwise: the packages depend on Debian's nodejs (>= 20), and trixie is the
// first Debian release that has it (bookworm's is 18).
//
// Commands run through chroot inside a private mount namespace (unshare), where /proc is mounted
// for them alone: nothing stays mounted on the host when they exit, whatever happens to the test.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/poolctl.js';

export const SUITE = process.env.POOLD_DEB_SUITE ?? 'trixie';
/**
 * Installed into the root besides minbase: the packages' dependencies (nodejs; ipvsadm for the
 * agent; systemd, which also provides systemd-sysusers and systemd-analyze), and man-db so that
 * `systemd-analyze verify` can check the units' Documentation=man:... pages.
 */
export const ROOT_PACKAGES = ['nodejs', 'systemd', 'ipvsadm', 'man-db'];
const CLEAN_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: opts.timeoutMs ?? 120_000, env: opts.env ?? CLEAN_ENV, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr: err !== null && code === 1 && stderr === '' ? String(err.message) : stderr });
    });
  });
}

/** The Debian archive URI from apt's sources (deb822 .sources or one-line .list), security excluded. */
export function debianMirror(): string {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) if (/\.(list|sources)$/.test(f)) files.push(join('/etc/apt/sources.list.d', f));
  }
  const uris: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.sources')) {
      for (const m of text.matchAll(/^URIs:\s*(.+)$/gm)) uris.push(...m[1].trim().split(/\s+/));
    } else {
      for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)) uris.push(m[1]);
    }
  }
  const mirror = uris.find((u) => /^https?:\/\/.*\/debian\/?$/.test(u));
  if (!mirror) throw new Error(`no Debian archive (an http URI ending in /debian) in ${files.join(', ') || 'apt sources (none found)'}`);
  return mirror;
}

/** The cached root tarball, debootstrapped first if absent. */
export async function cachedRootTarball(log: (line: string) => void): Promise<string> {
  const arch = (await run('dpkg', ['--print-architecture'])).stdout.trim();
  const key = createHash('sha256').update(JSON.stringify([SUITE, arch, ROOT_PACKAGES])).digest('hex').slice(0, 12);
  const dir = join(ROOT, 'var', 'cache', 'deb-root');
  const tarball = join(dir, `${SUITE}-${arch}-${key}.tar`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(dir, { recursive: true });
  const mirror = debianMirror();
  const work = mkdtempSync(join(tmpdir(), 'poold-debootstrap-'));
  try {
    log(`debootstrap ${SUITE} from ${mirror} (first run only; cached as ${tarball})`);
    const boot = await run('debootstrap', ['--variant=minbase', `--include=${ROOT_PACKAGES.join(',')}`, '--components=main', SUITE, join(work, 'root'), mirror], { timeoutMs: 30 * 60_000 });
    if (boot.code !== 0) throw new Error(`debootstrap failed (${boot.code}): ${boot.stderr.slice(-2000)}${boot.stdout.slice(-2000)}`);
    const partial = `${tarball}.partial`;
    const tar = await run('tar', ['--numeric-owner', '-cf', partial, '-C', join(work, 'root'), '.'], { timeoutMs: 10 * 60_000 });
    if (tar.code !== 0) throw new Error(`tar of the root failed: ${tar.stderr}`);
    renameSync(partial, tarball);
    return tarball;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Mount points at or under `dir` (there should be none: mounts live in private namespaces). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m === dir || m.startsWith(`${dir}/`));
}

export interface DebianRoot {
  dir: string;
  /** Runs argv inside the root (as `user` when given), with a clean environment. */
  run(argv: string[], opts?: { user?: string; timeoutMs?: number }): Promise<Run>;
  /** Starts a long-running process inside the root. */
  spawn(argv: string[], opts?: { user?: string }): ChildProcess;
  remove(): void;
}

/**
 * argv for `env`: a clean environment (tap's process hooks add NODE_OPTIONS to every child's
 * environment, naming files that do not exist in the root), a private mount namespace, /proc, chroot.
 */
function chrootArgv(dir: string, argv: string[], user?: string): string[] {
  const userspec = user === undefined ? '' : ` --userspec=${user}:${user}`;
  return ['-i', ...Object.entries(CLEAN_ENV).map(([k, v]) => `${k}=${v}`),
    'unshare', '--mount', '--propagation', 'private', '--',
    'sh', '-c', `mount -t proc proc "$0/proc" && exec chroot${userspec} "$0" "$@"`, dir, ...argv];
}

export async function unpackRoot(tarball: string): Promise<DebianRoot> {
  const dir = mkdtempSync(join(tmpdir(), 'poold-debroot-'));
  const tar = await run('tar', ['-xf', tarball, '-C', dir], { timeoutMs: 10 * 60_000 });
  if (tar.code !== 0) throw new Error(`unpacking ${tarball} failed: ${tar.stderr}`);
  return {
    dir,
    run: (argv, opts = {}) => run('env', chrootArgv(dir, argv, opts.user), { timeoutMs: opts.timeoutMs }),
    spawn: (argv, opts = {}) => spawn('env', chrootArgv(dir, argv, opts.user), { env: CLEAN_ENV, stdio: ['ignore', 'pipe', 'pipe'] }),
    remove() {
      const left = mountsUnder(dir);
      // Never recurse into a mounted /proc: leave the root behind and say so.
      if (left.length > 0) throw new Error(`not removing ${dir}: still mounted: ${left.join(', ')}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
