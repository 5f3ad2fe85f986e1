// The V8 flags the daemon is shipped with, for benches that start it: debian/bin/poold and the shebang
// of src/daemon/poold.ts. A bench that ran poold with V8's defaults would measure another program
// (at eqiad's size: a heap left to grow past 400 MiB, and parallel GC threads competing for the cores).
//
// With check worker threads (POOLD_CHECK_WORKERS other than 0), no --max-old-space-size: V8's flag is
// process-wide and would override each worker's own heap limit (src/checks/sched-shards.ts WORKER_HEAP).
export function shippedPooldNodeArgs(checkWorkers: string | number): string[] {
  const inMainThread = checkWorkers === 0 || checkWorkers === '0' || checkWorkers === '';
  return [...(inMainThread ? ['--max-old-space-size=192'] : []), '--single-threaded-gc', '--max-semi-space-size=4'];
}

/** The V8 flags of the LVS agent as shipped (debian/bin/lvs-agent). */
export function shippedAgentNodeArgs(): string[] {
  return ['--max-old-space-size=192', '--single-threaded-gc', '--max-semi-space-size=4'];
}
