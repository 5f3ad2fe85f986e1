// A real Icinga 2 API for tests: CA and node certificate made with openssl, the daemon in the
// foreground as a child process on a free loopback port, all state in a temp dir. No checker feature
// is enabled, so Icinga never runs checks (no traffic beyond the API socket).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ICINGA2, icinga2Defines, icinga2Dirs } from './validators.js';
import type { IcingaApiConfig } from '../../src/monitoring/downtime.js';

const run = promisify(execFile);
const NODE = 'poold-test';

export interface IcingaApi {
  config: IcingaApiConfig;
  get(path: string): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
  log(): Promise<string>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startIcingaApi(objects: string): Promise<IcingaApi> {
  const dir = await mkdtemp(join(tmpdir(), 'poold-icinga-api-'));
  await icinga2Dirs(dir);
  const defines = icinga2Defines(dir);
  const certs = join(dir, 'lib', 'certs');
  await mkdir(certs, { recursive: true });
  // EC keys from openssl take milliseconds; `icinga2 pki` makes 4096-bit RSA keys (seconds each).
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', join(dir, 'ca.key'), '-out', join(certs, 'ca.crt'), '-subj', '/CN=poold-test-ca', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE']);
  await run('openssl', ['req', ...ec, '-keyout', join(certs, `${NODE}.key`), '-out', join(dir, 'node.csr'), '-subj', `/CN=${NODE}`]);
  await run('openssl', ['x509', '-req', '-in', join(dir, 'node.csr'), '-CA', join(certs, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(certs, `${NODE}.crt`), '-days', '2']);
  const port = await freePort();
  await writeFile(join(dir, 'objects.conf'), objects);
  await writeFile(
    join(dir, 'icinga2.conf'),
    [
      'const PluginDir = "/usr/lib/nagios/plugins"',
      `const NodeName = "${NODE}"`,
      `const ZoneName = "${NODE}"`,
      'include <itl>',
      'include <plugins>',
      'object Endpoint NodeName { }',
      'object Zone ZoneName { endpoints = [ NodeName ] }',
      `object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = ${port}; ticket_salt = "" }`,
      'object ApiUser "poold" { password = "s3cret"; permissions = [ "actions/*", "objects/query/*" ] }',
      `include "${dir}/objects.conf"`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(ICINGA2, ['daemon', '-c', join(dir, 'icinga2.conf'), ...defines], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ca = await readFile(join(certs, 'ca.crt'), 'utf8');
  const config: IcingaApiConfig = { url: `https://127.0.0.1:${port}`, user: 'poold', password: 's3cret', ca, serverName: NODE, timeoutMs: 3000 };

  const get = (path: string) =>
    new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = request(
        `${config.url}${path}`,
        { auth: `${config.user}:${config.password}`, headers: { Accept: 'application/json' }, ca, checkServerIdentity: (_h, cert) => checkServerIdentity(NODE, cert) },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body || 'null') }));
        },
      );
      req.on('error', reject);
      req.end();
    });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`icinga2 daemon exited early:\n${output.slice(-3000)}`);
    }
    try {
      // Any HTTP answer means the API listens (poold's user may not read /v1/status: least privilege).
      await get('/v1/objects/hosts?attrs=name');
      break;
    } catch {
      // Not listening yet: keep polling until the deadline.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`icinga2 API did not come up on port ${port}:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { config, get, stop, log: async () => output };
}
