// A throw-away self-signed certificate for the `bad-tls` behaviour, made locally with openssl
// (no network). Its name is backend.sim.test, so a test can also trust it as a CA file + SNI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PooldError } from '../model/errors.js';

export const SIM_CERT_NAME = 'backend.sim.test';

export interface SelfSigned {
  dir: string;
  certPath: string;
  cert: Buffer;
  key: Buffer;
  remove(): void;
}

export function makeSelfSigned(): SelfSigned {
  const dir = mkdtempSync(join(tmpdir(), 'poold-sim-tls-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyPath, '-out', certPath, '-days', '2',
        '-subj', `/CN=${SIM_CERT_NAME}`, '-addext', `subjectAltName=DNS:${SIM_CERT_NAME}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new PooldError(`simulator: openssl could not make a self-signed certificate: ${(err as Error).message}`, { dir }, { cause: err });
  }
  return {
    dir,
    certPath,
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
