// A write split into several etcd transactions (etcd caps their size) that failed part-way: tell the
// operator exactly what landed and what did not, and how to finish. Humans get counts and a few
// names on stderr; --json gets every key on stdout. Exit 1: the command failed, but running the
// same command again completes it (keys already done are skipped).
import { compactList } from '../model/compact-list.js';
import { EXIT } from '../model/exit-codes.js';
import { poolPath } from '../model/types.js';
import type { PartialWriteError } from '../store/errors.js';
import type { Keys } from '../store/keys.js';
import type { Output } from './output.js';

/** `dc/cluster/service host` for a host key, else the key itself (service definitions, sync). */
function label(keys: Keys, key: string): string {
  const h = keys.parseHost(key);
  return h === undefined ? key : `${poolPath(h)} ${h.host}`;
}

export function partialWriteLines(keys: Keys, err: PartialWriteError): string[] {
  const cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
  return [
    `poolctl: partly done: ${cause}`,
    `  done (${err.done.length}): ${compactList(err.done.map((k) => label(keys, k)))}`,
    `  not done (${err.notDone.length}): ${compactList(err.notDone.map((k) => label(keys, k)))}`,
    `  operation ${err.operationId}: the same command again completes it; ` +
    `'poolctl audit --op ${err.operationId}' lists what it changed; --json lists every key`,
  ];
}

/** Reports a partial write (stderr for humans, stdout JSON with --json); returns the exit code. */
export function reportPartialWrite(out: Output, keys: Keys, err: PartialWriteError): number {
  if (out.json) {
    const cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
    out.result([], { error: 'partial', message: cause, operationId: err.operationId, done: err.done, notDone: err.notDone });
  }
  for (const line of partialWriteLines(keys, err)) process.stderr.write(`${line}\n`);
  return EXIT.failed;
}
