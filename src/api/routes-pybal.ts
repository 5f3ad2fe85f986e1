// PyBal-compatible URLs (ARCHITECTURE.md §11): /pools, /pools/<pool>, /pools/<pool>/<host>, /alerts, and the
// server list PyBal fetches with `config = http://.../pybal/<dc>/<name>`, the path Wikimedia's
// config-master serves. <name> is an LVS service's section name (`apertium_4737`) or its catalog
// service name (`apertium`, config-master's form); `enabled` there is poold's effective state.
// Paths follow Twisted's resource tree as PyBal uses it: a trailing slash names the same resource,
// and /alerts and /pools/<pool>/<host> are leaves, so anything below them is the same resource.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { renderServerList } from '../lvs/serverlist.js';
import { alertsJson, alertsText, type AlertsResult } from '../model/alerts.js';
import { poolName, servicePath } from '../model/types.js';
import { alertsFor } from './alerts-adapter.js';
import { serviceParamsSchema, textBodySchema } from './http-errors.js';
import { renderHost, renderNotFound, renderPool, renderPoolList, resolvePoolsPath, sendPybal, wantsJson } from './pybal-format.js';
import type { PoolView } from './state-view.js';

export interface PybalRoutesOptions {
  view: PoolView;
  now: () => number;
}

/** PyBal's answers are text or JSON, never validated beyond the path, so schemas only document. */
const anyQuery = { type: 'object' } as const;
const textOrJson = { 200: textBodySchema, 404: textBodySchema } as const;

function send(request: FastifyRequest, reply: FastifyReply, status: number, render: (json: boolean) => string) {
  return sendPybal(reply, status, wantsJson(request.raw.rawHeaders), render);
}

export const pybalRoutes: FastifyPluginAsync<PybalRoutesOptions> = async (app, { view, now }) => {
  const poolNames = () => {
    const names = new Set<string>();
    for (const e of view.list()) if (e.state) names.add(poolName(e.key));
    return names;
  };

  // Every /pools... path is resolved as Twisted walks PyBal's resources (resolvePoolsPath): empty
  // segments name the same resource (`/pools//` lists the pools), the host is a leaf.
  const poolsSchema = { querystring: anyQuery, response: textOrJson };
  const poolsHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const target = resolvePoolsPath(request.raw.url ?? request.url);
    if (target.kind === 'list') return send(request, reply, 200, (json) => renderPoolList(poolNames(), json));
    if (target.kind === 'notFound') return send(request, reply, 404, renderNotFound);
    const entry = view.byPybalName(target.pool);
    if (!entry) return send(request, reply, 404, renderNotFound);
    if (target.kind === 'pool') return send(request, reply, 200, (json) => renderPool(entry, json));
    const server = entry.state?.servers[target.host];
    // Object.hasOwn: a host named `constructor` must not find Object.prototype's.
    if (!server || !Object.hasOwn(entry.state!.servers, target.host) || server.pooledAdmin === 'inactive') {
      return send(request, reply, 404, renderNotFound);
    }
    return send(request, reply, 200, (json) => renderHost(entry, target.host, json));
  };
  app.get('/pools', { schema: poolsSchema }, poolsHandler);
  app.get('/pools/*', { schema: poolsSchema }, poolsHandler);

  const alertsSchema = { querystring: anyQuery, response: { 200: textBodySchema } };
  const alertsHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    let alert: AlertsResult;
    try {
      alert = alertsFor(view, now());
    } catch (err) {
      // /alerts always answers 200 (Icinga reads the text): a failure to compute becomes CRITICAL.
      request.log.error({ err }, 'computing /alerts failed');
      alert = { status: 'critical', msg: `poold could not compute alerts: ${(err as Error).message}` };
    }
    return send(request, reply, 200, (json) => (json ? alertsJson(alert) : alertsText(alert)));
  };
  app.get('/alerts', { schema: alertsSchema }, alertsHandler);
  app.get('/alerts/*', { schema: alertsSchema }, alertsHandler);

  app.get<{ Params: { dc: string; name: string } }>(
    '/pybal/:dc/:name',
    { schema: { params: serviceParamsSchema, querystring: anyQuery, response: { 200: textBodySchema, 404: textBodySchema, 503: textBodySchema } } },
    async (request, reply) => {
      const entry = view.get(request.params) ?? view.byCatalogName(request.params.dc, request.params.name);
      if (!entry) return send(request, reply, 404, renderNotFound);
      if (!entry.state) {
        // An empty list would make PyBal drop every server; an error makes it keep its last list.
        // Name the LVS service the request resolved to (a catalog name may stand for a section).
        return reply.code(503).type('text/plain').send(`No state published yet for ${servicePath(entry.key)}\n`);
      }
      return reply.code(200).type('text/plain').send(renderServerList(entry.state));
    },
  );
};
