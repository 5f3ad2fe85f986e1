// Shared TLS client contexts for https checks. Without one, every tls.connect builds a fresh
// SecureContext (and parses the CA file again), which at 10k checks/s costs more than the check
// itself. Contexts are shared per CA file across checkers and rebuilt when the file's mtime changes,
// so a rotated CA is picked up. The file is stat()ed at most once per CA_RECHECK_MS, not on every
// check: a synchronous syscall per https check would sit on the check loop's hot path.
import { readFileSync, statSync } from 'node:fs';
import * as tls from 'node:tls';
import { PooldError } from '../model/errors.js';

/** How long a CA file's context is used before its mtime is looked at again. */
export const CA_RECHECK_MS = 1000;

const cache = new Map<string, { mtimeMs: number; statAt: number; context: tls.SecureContext }>();
let systemDefault: tls.SecureContext | undefined;

/** The context for a CA file, or the system roots when `caFile` is undefined. `check` names the check in errors. */
export function clientContext(caFile: string | undefined, check: string): tls.SecureContext {
  if (caFile === undefined) return (systemDefault ??= tls.createSecureContext());
  const now = Date.now();
  const hit = cache.get(caFile);
  if (hit && now - hit.statAt < CA_RECHECK_MS) return hit.context;
  let mtimeMs: number;
  let ca: Buffer;
  try {
    mtimeMs = statSync(caFile).mtimeMs;
    if (hit && hit.mtimeMs === mtimeMs) {
      hit.statAt = now;
      return hit.context;
    }
    ca = readFileSync(caFile);
  } catch (err) {
    throw new PooldError(`http check ${check}: cannot read CA file ${caFile}: ${(err as Error).message}`, { check, ca: caFile }, { cause: err });
  }
  // createSecureContext silently ignores non-PEM input; then every check would fail with an opaque
  // "unable to get local issuer certificate", so say what is wrong here.
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new PooldError(`http check ${check}: CA file ${caFile} is not usable PEM: no certificate in it`, { check, ca: caFile });
  }
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ ca });
  } catch (err) {
    throw new PooldError(`http check ${check}: CA file ${caFile} is not usable PEM: ${(err as Error).message}`, { check, ca: caFile }, { cause: err });
  }
  cache.set(caFile, { mtimeMs, statAt: now, context });
  return context;
}
