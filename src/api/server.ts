// poold's HTTP API: PyBal-compatible instrumentation, JSON v1, Prometheus metrics, server-sent events.
//
// It is read-only by design: pool state changes only through authenticated etcd writes (poolctl),
// so every POST/PUT/DELETE/PATCH answers 405, and the server binds to loopback unless told otherwise.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { PooldError } from '../model/errors.js';
import { errorBodySchema, type ApiErrorBody } from './http-errors.js';
import { PoolMetrics } from './metrics.js';
import { renderNotFound, sendPybal, wantsJson } from './pybal-format.js';
import { pybalRoutes } from './routes-pybal.js';
import { v1Routes } from './routes-v1.js';
import { metricsRoutes } from './routes-metrics.js';
import { eventRoutes } from './routes-events.js';
import { dashboardRoutes } from './dashboard/routes-dashboard.js';
import type { PoolView } from './state-view.js';

export interface ApiOptions {
  view: PoolView;
  /** The registry /metrics serves. Default: a new PoolMetrics bound to the view (gauges only). */
  metrics?: PoolMetrics;
  /** A pino-compatible logger, or true for fastify's default logger. Default: no logging. */
  logger?: FastifyBaseLogger | boolean;
  /** Clock for ages (stale for Ns). Default Date.now. */
  now?: () => number;
  /** Interval of SSE heartbeat comments on /v1/events. Default 15 s. */
  sseHeartbeatMs?: number;
}

export interface StartApiOptions extends ApiOptions {
  /** Default 127.0.0.1: the API is for the local LVS agent, monitoring and people on the host. */
  host?: string;
  /** Default 9090, PyBal's instrumentation port. 0 picks a free port. */
  port?: number;
}

const WRITE_METHODS = ['POST', 'PUT', 'DELETE', 'PATCH'] as const;

export function buildApi(options: ApiOptions): FastifyInstance {
  const { view } = options;
  const now = options.now ?? Date.now;
  let metrics = options.metrics;
  if (!metrics) {
    metrics = new PoolMetrics();
    metrics.bindSource(view);
  }
  const logger = options.logger;
  const app = Fastify({
    ...(typeof logger === 'object' ? { loggerInstance: logger } : { logger: logger ?? false }),
    routerOptions: { ignoreTrailingSlash: true },
    // SSE streams are long-lived; close() ends them in preClose, then waits for nothing else.
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  }) as unknown as FastifyInstance; // the generic logger type differs when an instance is passed

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      const first = err.validation[0];
      const param = first?.instancePath ? first.instancePath.replace(/^\//, '').replace(/\//g, '.') : ((first?.params as { missingProperty?: string; additionalProperty?: string } | undefined)?.additionalProperty ?? '');
      const where = `${err.validationContext ?? 'request'}${param ? '.' + param : ''}`;
      const body: ApiErrorBody = {
        error: 'bad_request',
        message: `${where} ${first?.message ?? 'is invalid'} (${request.method} ${request.url})`,
        where,
      };
      return reply.code(400).type('application/json').send(body);
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, 'unhandled error in API route');
    const body: ApiErrorBody = {
      error: status === 500 ? 'internal_error' : (err.code ?? 'bad_request'),
      message: status === 500 ? `internal error: ${err.message}` : err.message,
      where: `${request.method} ${request.url}`,
    };
    return reply.code(status).type('application/json').send(body);
  });

  // Unknown paths answer as PyBal does, so PyBal-era tooling sees the same 404.
  app.setNotFoundHandler((request, reply) => {
    return sendPybal(reply, 404, wantsJson(request.raw.rawHeaders), renderNotFound);
  });

  const refuseWrite = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const body: ApiErrorBody = {
      error: 'method_not_allowed',
      message: `${request.method} is not allowed: the poold API is read-only; change pools with poolctl (authenticated etcd writes)`,
      where: `${request.method} ${request.url}`,
    };
    return reply.code(405).header('allow', 'GET, HEAD').type('application/json').send(body);
  };
  app.route({
    method: [...WRITE_METHODS],
    url: '/*',
    schema: { response: { 405: errorBodySchema } },
    // Refused in onRequest, before the body is parsed: a write is a 405 whatever its body is (an
    // unparsable or unsupported body would otherwise be a 400 or 415 that hides the real answer).
    onRequest: refuseWrite,
    handler: refuseWrite,
  });

  app.get('/healthz', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => {
    return reply.type('text/plain').send('ok');
  });

  app.register(pybalRoutes, { view, now });
  app.register(v1Routes, { view, now });
  app.register(metricsRoutes, { metrics });
  app.register(eventRoutes, { view, now, heartbeatMs: options.sseHeartbeatMs ?? 15_000 });
  app.register(dashboardRoutes, {});
  return app;
}

export interface RunningApi {
  app: FastifyInstance;
  /** The bound address (the real port when 0 was asked). */
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startApi(options: StartApiOptions): Promise<RunningApi> {
  const app = buildApi(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 9090 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new PooldError(`API bound to an unexpected address: ${String(addr)}`, { host, port: options.port });
  return { app, host: addr.address, port: addr.port, close: () => app.close() };
}
