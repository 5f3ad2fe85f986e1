// Shared TLS client contexts for https checks. Without one, every tls.connect builds a fresh
// SecureContext (and parses the CA file again), which at 10k checks/s costs more than the check
// itself. Contexts are shared per CA file across checkers (the scheduler makes one checker per
// target) and rebuilt when the file's mtime changes, so a rotated CA is picked up.
import { readFileSync, statSync } from 'node:fs';
import * as tls from 'node:tls';
import { PooldError } from '../model/errors.js';

const cache = new Map<string, { mtimeMs: number; context: tls.SecureContext }>();
let systemDefault: tls.SecureContext | undefined;

/** The context for a CA file, or the system roots when `caFile` is undefined. `check` names the check in errors. */
export function clientContext(caFile: string | undefined, check: string): tls.SecureContext {
  if (caFile === undefined) return (systemDefault ??= tls.createSecureContext());
  let mtimeMs: number;
  let ca: Buffer;
  try {
    mtimeMs = statSync(caFile).mtimeMs;
    const hit = cache.get(caFile);
    if (hit && hit.mtimeMs === mtimeMs) return hit.context;
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
  cache.set(caFile, { mtimeMs, context });
  return context;
}
