// GET /metrics: the Prometheus exposition of this process's PoolMetrics registry. Query parameters
// are ignored, as scrapers may add their own.
import type { FastifyPluginAsync } from 'fastify';
import { textBodySchema } from './http-errors.js';
import type { PoolMetrics } from './metrics.js';

export interface MetricsRoutesOptions {
  metrics: PoolMetrics;
}

export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { metrics }) => {
  app.get('/metrics', { schema: { querystring: { type: 'object' }, response: { 200: textBodySchema } } }, async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
};
