// A listener whose accept queue is full, so new SYNs are dropped and connects hang: the only way to
// get a real connect timeout on loopback. A child node process listens with a backlog of 1 and then
// blocks its own event loop for good (Atomics.wait), so it never accepts; we connect until a connect hangs,
// i.e. the queue is full. (A process, not a Worker: SIGKILL ends it reliably whatever it is blocked in.)
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

export interface Blackhole {
  address: string;
  port: number;
  stop(): Promise<void>;
}

const CHILD = `
const net = require('node:net');
const server = net.createServer();
server.listen({ host: process.argv[1], port: 0, backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n', () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  });
});
`;

export async function startBlackhole(address: string): Promise<Blackhole> {
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`blackhole child exited ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  // Node passes 0 as "default backlog", and Linux lets backlog + 1 connections queue: fill until full.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 16; i++) {
    const s = net.connect(port, address);
    s.on('error', () => undefined);
    fillers.push(s);
    const connected = await new Promise<boolean>((r) => {
      const t = setTimeout(() => r(false), 200);
      s.once('connect', () => {
        clearTimeout(t);
        r(true);
      });
    });
    if (!connected) break;
  }
  return {
    address,
    port,
    async stop() {
      for (const s of fillers) s.destroy();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
