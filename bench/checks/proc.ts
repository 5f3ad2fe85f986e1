// CPU and memory of another process, from /proc (Linux). CPU counts every thread of the process.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

function clkTck(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** utime and stime of `pid` (or of its thread `tid`), in microseconds (resolution 1/CLK_TCK s). */
export function cpuSplitMicros(pid: number, tid?: string): { user: number; system: number } {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(rest[11]) * 1e6) / clkTck(), system: (Number(rest[12]) * 1e6) / clkTck() };
}

/**
 * CPU of `pid` per thread name (/proc/<pid>/task/<tid>/comm: node-MainThread, poold-checks-N, the
 * V8 helpers...), in microseconds, summed over threads of the same name. Threads that exited are
 * not counted, so compare two readings of threads that live through both.
 */
export function threadCpuMicros(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const c = cpuSplitMicros(pid, tid);
      out.set(comm, (out.get(comm) ?? 0) + c.user + c.system);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return out;
}

/** utime + stime of `pid`, in microseconds. */
export function cpuMicros(pid: number): number {
  const c = cpuSplitMicros(pid);
  return c.user + c.system;
}

/** Resident set size of `pid` in MiB (VmRSS), and its peak (VmHWM). */
export function rssMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(/^(\w+):\s+(\d+) kB$/m.exec(status.split('\n').find((l) => l.startsWith(`${name}:`)) ?? '')?.[2] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
