// A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate,
// generated with the openssl binary into a temp dir. The client certificate has no CommonName:
// with --client-cert-auth etcd would log a client in as the user named by its CN, and etcd's JSON
// gateway (poolctl's transport) refuses client certificates that carry a CN at all.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPem, type EtcdTlsFiles } from './etcd-process.js';

export interface EtcdTlsMaterial {
  /** Server side, for etcd's --cert-file/--key-file/--trusted-ca-file. */
  server: { caFile: string; certFile: string; keyFile: string };
  /** Client side, for poold/poolctl (--etcd-ca/--etcd-cert/--etcd-key). */
  client: EtcdTlsFiles;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function issue(dir: string, name: string, subject: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
}

export function generateTls(dir: string): EtcdTlsMaterial {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=poold-test-ca', '-days', '2']);
  issue(dir, 'server', '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  issue(dir, 'client', '/O=poold-test-client', 'extendedKeyUsage=clientAuth\n');
  const caFile = join(dir, 'ca.crt');
  const client = {
    caFile,
    certFile: join(dir, 'client.crt'),
    keyFile: join(dir, 'client.key'),
    ca: readPem(caFile),
    cert: readPem(join(dir, 'client.crt')),
    key: readPem(join(dir, 'client.key')),
  };
  return { server: { caFile, certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') }, client };
}
