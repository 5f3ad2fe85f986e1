// The simulator's control endpoint, for operators and the demo:
//   GET  /backends                              all backends with counters
//   GET  /backends/<address>:<port>             one backend
//   POST /backends/<address>:<port>/behaviour   body: {"behaviour": "...", ...options} or the bare name
//   GET  /stats                                 totals
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage, NotFoundError, PooldError, UsageError } from '../model/errors.js';
import { isBehaviour } from './behaviours.js';
import type { Simulator } from './simulator.js';
import { behaviourOptions } from './spec.js';

export interface ControlServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

const BACKEND = /^\/backends\/(\[[^\]]+\]|[^/:]+):(\d+)(\/behaviour)?$/;

export async function startControl(sim: Simulator, host: string, port: number): Promise<ControlServer> {
  const server = http.createServer((req, res) => {
    handle(sim, req).then(
      ([status, body]) => reply(res, status, body),
      (err: unknown) => {
        const status = err instanceof NotFoundError ? 404 : err instanceof UsageError ? 400 : 500;
        reply(res, status, { error: errorMessage(err) });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new PooldError(`simulator control: cannot listen on ${host}:${port}: ${err.message}`, { host, port }, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: a.address,
    port: a.port,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(sim: Simulator, req: http.IncomingMessage): Promise<[number, unknown]> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/backends') return [200, sim.list()];
  if (req.method === 'GET' && path === '/stats') return [200, sim.totals()];
  const m = BACKEND.exec(path);
  if (!m) return [404, { error: `no such endpoint: ${req.method} ${path}` }];
  const address = m[1].replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  if (!m[3] && req.method === 'GET') return [200, sim.stats(address, port)];
  if (!m[3] || req.method !== 'POST') return [405, { error: `use POST ${path}${m[3] ? '' : '/behaviour'}` }];
  const text = await readBody(req);
  let body: Record<string, unknown>;
  if (text.trim().startsWith('{')) {
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`request body is not valid JSON: ${(err as Error).message}`);
    }
  } else {
    body = { behaviour: text.trim() };
  }
  if (!isBehaviour(body.behaviour)) throw new UsageError(`unknown behaviour ${JSON.stringify(body.behaviour)}`);
  await sim.setBehaviour(address, port, body.behaviour, behaviourOptions(body, 'body'));
  return [200, sim.stats(address, port)];
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      text += d;
      if (text.length > 64 * 1024) reject(new UsageError('request body too large'));
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}
