// The agent's own small HTTP server: /metrics for Prometheus and /status for people and probes.
// It binds 127.0.0.1 by default: it is for the LVS host itself and its local scraper.
import Fastify, { type FastifyInstance } from 'fastify';
import type { AgentMetrics } from './agent-metrics.js';

export interface AgentHttpOptions {
  host?: string;
  port: number;
  metrics: AgentMetrics;
  status: () => unknown;
}

export async function startAgentHttp(opts: AgentHttpOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    reply.type(opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
  app.get('/status', async () => opts.status());
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return { app, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}
