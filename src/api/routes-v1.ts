// JSON v1: what people and dashboards need to understand a pool, beyond PyBal's three booleans.
//   GET /v1/pools                every LVS service in scope (a PyBal section; "pool" in PyBal's terms)
//                                with its conftool pool, counts and threshold headroom
//   GET /v1/pools/:dc/:name      admin, health and effective state per host, with reasons,
//                                this instance's last verdicts (timings), every observer's view
import { safetySchemaProperties, safetySummary } from './v1-safety.js';
import type { FastifyPluginAsync } from 'fastify';
import { requiredCount } from '../model/coordinator-threshold.js';
import { UNKNOWN_WRITER } from '../model/alerts-hold.js';
import { poolName, servicePath, type AdminHoldInfo, type ServiceKey } from '../model/types.js';
import { errorBodySchema, NAME_PATTERN, noQuerySchema, serviceParamsSchema, type ApiErrorBody } from './http-errors.js';
import { healthWord } from './pybal-format.js';
import { poolCounts, type PoolEntry, type PoolView } from './state-view.js';

export interface V1RoutesOptions {
  view: PoolView;
  now: () => number;
}

/**
 * `required`: servers that must stay up and enabled (PyBal's total × threshold, rounded up);
 * `headroom`: how many more up servers could go down before the threshold stops depooling
 * (negative: that many short, and the threshold is keeping down servers pooled).
 */
interface Threshold {
  depoolThreshold: number;
  required: number;
  upEnabled: number;
  headroom: number;
}

function countsOf(e: PoolEntry) {
  const { upEnabled, ...counts } = poolCounts(e.state);
  if (!e.state) return { counts, threshold: null };
  const required = requiredCount(counts.total, e.state.depoolThreshold);
  const threshold: Threshold = { depoolThreshold: e.state.depoolThreshold, required, upEnabled, headroom: upEnabled - required };
  return { counts, threshold };
}

const countsSchema = {
  type: 'object',
  required: ['total', 'enabled', 'up', 'pooled', 'pooledDown', 'inactive'],
  properties: {
    total: { type: 'integer' },
    enabled: { type: 'integer' },
    up: { type: 'integer' },
    pooled: { type: 'integer' },
    pooledDown: { type: 'integer' },
    inactive: { type: 'integer' },
  },
} as const;

const thresholdSchema = {
  type: ['object', 'null'],
  required: ['depoolThreshold', 'required', 'upEnabled', 'headroom'],
  properties: {
    depoolThreshold: { type: 'number' },
    required: { type: 'integer' },
    upEnabled: { type: 'integer' },
    headroom: { type: 'integer' },
  },
} as const;

const leadershipSchema = {
  type: 'object',
  required: ['leader', 'leaderId'],
  properties: { leader: { type: 'boolean' }, leaderId: { type: ['string', 'null'] } },
} as const;

const poolSummaryProperties = {
  dc: { type: 'string' },
  /** The LVS service (PyBal section) name. */
  name: { type: 'string' },
  /** Its conftool pool: cluster and service. */
  cluster: { type: 'string' },
  service: { type: 'string' },
  pybalName: { type: 'string' },
  pybalNameConflict: { type: 'boolean' },
  revision: { type: ['integer', 'null'] },
  updatedAt: { type: ['integer', 'null'] },
  stale: { type: 'boolean' },
  staleSinceMs: { type: ['integer', 'null'] },
  staleForMs: { type: ['integer', 'null'] },
  counts: countsSchema,
  threshold: thresholdSchema,
  flapping: { type: 'array', items: { type: 'string' } },
  ...safetySchemaProperties, // issue 14
  drift: {
    type: 'array',
    items: { type: 'object', required: ['where', 'message'], properties: { where: { type: 'string' }, message: { type: 'string' } } },
  },
} as const;

const poolListSchema = {
  type: 'object',
  required: ['pools', 'leadership'],
  properties: {
    pools: { type: 'array', items: { type: 'object', properties: poolSummaryProperties } },
    leadership: leadershipSchema,
  },
} as const;

const timingsSchema = {
  type: 'object',
  properties: { connectMs: { type: 'number' }, firstByteMs: { type: 'number' }, totalMs: { type: 'number' } },
} as const;

const findingsSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: { code: { type: 'string' }, message: { type: 'string' }, severity: { type: 'string' } },
  },
} as const;

const verdictSchema = {
  type: 'object',
  properties: {
    up: { type: 'boolean' },
    code: { type: 'string' },
    message: { type: 'string' },
    at: { type: 'integer' },
    timings: timingsSchema,
    findings: findingsSchema,
    // Kind-specific detail (status code, plugin output...): free-form by design.
    detail: { type: 'object', additionalProperties: true },
  },
} as const;

const observationSchema = {
  type: 'object',
  properties: {
    observer: { type: 'string' },
    up: { type: 'boolean' },
    reason: { type: 'string' },
    code: { type: 'string' },
    at: { type: 'integer' },
    flapping: { type: 'boolean' },
    checks: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { up: { type: 'boolean' }, code: { type: 'string' }, message: { type: 'string' }, timings: timingsSchema, findings: findingsSchema },
      },
    },
  },
} as const;

const hostSchema = {
  type: 'object',
  properties: {
    host: { type: 'string' },
    /** Where the backend is checked and sent traffic, when pools/ gives it (the LVS agent uses it). */
    address: { type: 'string' },
    admin: { type: 'object', properties: { pooled: { type: 'string' }, weight: { type: 'integer' } } },
    health: { type: 'object', properties: { up: { type: 'boolean' }, status: { type: 'string' } } },
    effective: {
      type: 'object',
      properties: { enabled: { type: 'boolean' }, up: { type: 'boolean' }, pooled: { type: 'boolean' }, weight: { type: 'integer' } },
    },
    pybalStatus: { type: 'string' },
    reason: { type: 'string' },
    keptByThreshold: { type: 'boolean' },
    /** Present when an admin depool of this host is held by the threshold or was forced through. */
    adminHold: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['held', 'forced'] },
        requested: { type: 'string' },
        revision: { type: 'integer' },
        since: { type: 'number' },
        /** The actor of the audit record at that revision, 'unknown writer' without one, null while being looked up. */
        writer: { type: ['string', 'null'] },
        reason: { type: 'string' },
      },
    },
    flapping: { type: 'boolean' },
    findings: findingsSchema,
    verdicts: { type: 'object', additionalProperties: verdictSchema },
    observers: { type: 'object', additionalProperties: observationSchema },
  },
} as const;

/** The pool-detail answer's schema: its serializer drops what is not listed. /v1/events?detail=1 serializes with it too. */
export const poolDetailSchema = {
  type: 'object',
  properties: {
    ...poolSummaryProperties,
    lvs: {
      type: ['object', 'null'],
      // Every LvsDef field: the response serializer drops what is not listed, and the LVS agent fed by
      // poold reads bgp, drainMs and bgpMed from here (absent would mean the agent's default).
      properties: {
        ip: { type: 'string' }, port: { type: 'integer' }, protocol: { type: 'string' }, scheduler: { type: 'string' }, method: { type: 'string' },
        bgp: { type: 'boolean' }, drainMs: { type: 'integer' }, bgpMed: { type: 'integer' },
      },
    },
    checks: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, kind: { type: 'string' }, intervalMs: { type: 'integer' }, timeoutMs: { type: 'integer' }, rise: { type: 'integer' }, fall: { type: 'integer' } } },
    },
    leadership: leadershipSchema,
    hosts: { type: 'array', items: hostSchema },
  },
} as const;

function summary(e: PoolEntry, conflicts: Set<string>, nowMs: number) {
  const { counts, threshold } = countsOf(e);
  const flapping = new Set(e.flapping);
  for (const [h, s] of Object.entries(e.state?.servers ?? {})) if (s.flapping) flapping.add(h);
  return {
    dc: e.key.dc,
    name: e.key.name,
    cluster: e.def?.pool.cluster ?? e.state?.pool.cluster ?? '',
    service: e.def?.pool.service ?? e.state?.pool.service ?? '',
    pybalName: poolName(e.key),
    pybalNameConflict: conflicts.has(poolName(e.key)),
    revision: e.state?.revision ?? null,
    updatedAt: e.state?.updatedAt ?? null,
    stale: e.stale,
    staleSinceMs: e.staleSinceMs,
    staleForMs: e.stale && e.staleSinceMs !== null ? Math.max(0, nowMs - e.staleSinceMs) : null,
    counts,
    threshold,
    flapping: [...flapping].sort(),
    drift: e.drift,
    ...safetySummary(e.state, nowMs), // issue 14
  };
}

/** A held or forced admin depool (model/coordinator-hold.ts) with its writer as /alerts names it. */
function adminHoldDetail(h: AdminHoldInfo) {
  return {
    status: h.status,
    requested: h.requested,
    revision: h.revision,
    since: h.since,
    writer: h.writer === undefined ? null : h.writer === null ? UNKNOWN_WRITER : h.writer.actor,
    ...(h.writer?.reason !== undefined ? { reason: h.writer.reason } : {}),
  };
}

function hostDetail(e: PoolEntry, host: string) {
  const s = e.state!.servers[host];
  const verdicts: Record<string, unknown> = {};
  for (const [check, v] of e.verdicts.get(host) ?? []) {
    verdicts[check] = { ...v.result, at: v.at };
  }
  const observers: Record<string, unknown> = {};
  for (const [observer, o] of e.observations.get(host) ?? []) observers[observer] = o;
  const health = healthWord(e, host, s);
  const address = e.def?.servers[host]?.address;
  return {
    host,
    ...(address === undefined ? {} : { address }),
    // conftool's value: for a held depool, the written one (the effective state keeps the host pooled).
    admin: { pooled: s.adminHold?.requested ?? s.pooledAdmin, weight: s.weight },
    health: { up: s.up, status: health },
    effective: { enabled: s.enabled, up: s.up, pooled: s.pooled, weight: s.weight },
    pybalStatus: `${s.enabled ? 'enabled' : 'disabled'}/${health}/${s.pooled ? 'pooled' : 'not pooled'}`,
    reason: s.reason,
    keptByThreshold: e.state!.pooledDown.includes(host),
    ...(s.adminHold === undefined ? {} : { adminHold: adminHoldDetail(s.adminHold) }),
    flapping: s.flapping || e.flapping.has(host),
    findings: s.findings,
    verdicts,
    observers,
  };
}

/**
 * `GET /v1/pools/:dc/:name`'s body for a service, or undefined when the view has none. Also the
 * `detail` of `pool` events on `/v1/events?detail=1` (routes-events.ts), serialized with the same schema.
 */
export function poolDetail(view: PoolView, key: ServiceKey, nowMs: number) {
  const e = view.get(key);
  if (!e) return undefined;
  const hosts = Object.keys(e.state?.servers ?? {}).sort().map((h) => hostDetail(e, h));
  return {
    ...summary(e, view.pybalNameConflicts(), nowMs),
    lvs: e.def?.lvs ?? null,
    checks: (e.def?.checks ?? []).map((c) => ({ name: c.name, kind: c.kind, intervalMs: c.intervalMs, timeoutMs: c.timeoutMs, rise: c.rise, fall: c.fall })),
    leadership: view.getLeadership(),
    hosts,
  };
}

export const v1Routes: FastifyPluginAsync<V1RoutesOptions> = async (app, { view, now }) => {
  app.get<{ Querystring: { dc?: string } }>(
    '/v1/pools',
    {
      schema: {
        querystring: { type: 'object', properties: { dc: { type: 'string', pattern: NAME_PATTERN } }, additionalProperties: false },
        response: { 200: poolListSchema, 400: errorBodySchema },
      },
    },
    async (request) => {
      const conflicts = view.pybalNameConflicts();
      const nowMs = now();
      const pools = view
        .list()
        .filter((e) => request.query.dc === undefined || e.key.dc === request.query.dc)
        .map((e) => summary(e, conflicts, nowMs));
      return { pools, leadership: view.getLeadership() };
    },
  );

  app.get<{ Params: { dc: string; name: string } }>(
    '/v1/pools/:dc/:name',
    {
      schema: {
        params: serviceParamsSchema,
        querystring: noQuerySchema,
        response: { 200: poolDetailSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const body = poolDetail(view, request.params, now());
      if (!body) {
        const where = servicePath(request.params);
        const scope = view.inScope(request.params) ? '' : ` (dc ${request.params.dc} is not served by this instance)`;
        const notFound: ApiErrorBody = {
          error: 'not_found',
          message: `no LVS service ${where}${scope}; GET /v1/pools lists them`,
          where,
        };
        return reply.code(404).send(notFound);
      }
      return body;
    },
  );
};
