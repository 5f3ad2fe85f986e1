// HAProxy as the peer: the same backends, `option httpchk GET /_info`, `inter 1s`, one thread.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';

export const HAPROXY = process.env.HAPROXY ?? '/usr/sbin/haproxy';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export function haproxyConfig(backends: { address: string; port: number }[], frontendPort: number): string {
  const lines = [
    'global',
    '  nbthread 1',
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  timeout connect 900ms',
    '  timeout check 900ms',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend fe',
    `  bind 127.0.0.1:${frontendPort}`,
    '  default_backend be',
    'backend be',
    '  option httpchk GET /_info',
    '  default-server inter 1s rise 1 fall 1',
    ...backends.map((b, i) => `  server s${i} ${b.address}:${b.port} check`),
  ];
  return lines.join('\n') + '\n';
}

export interface RunningHaproxy {
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startHaproxy(backends: { address: string; port: number }[]): Promise<RunningHaproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'poold-bench-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(backends, await freePort()));
  const child = spawn(HAPROXY, ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // HAProxy has no ready signal in -db mode; an early exit within 1 s means a bad config.
  const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r('running'), 1000))]);
  if (early !== 'running') {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`haproxy exited with ${String(early)}:\n${stderr}`);
  }
  return {
    child,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
