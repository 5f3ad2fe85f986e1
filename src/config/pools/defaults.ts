// Defaults applied by the loader. The schema's descriptions document the same values and why;
// test/config/pools-defaults.test.ts keeps the two in step. Exported so pybal.conf import/render can
// tell a default from an explicit setting.
import type { CheckKind, FlappingDef, LvsMethod, LvsProtocol, UnclosedPolicy } from '../../model/types.js';

export const SERVICE_DEFAULTS = {
  /** PyBal's depool-threshold default (ipvs.py: getfloat('depool-threshold', .5)). */
  depoolThreshold: 0.5,
  protocol: 'tcp' as LvsProtocol,
  scheduler: 'wrr',
  /** PyBal always uses direct routing. */
  method: 'g' as LvsMethod,
  /** Three full down/up cycles in ten minutes is a pattern, not noise. */
  flapping: { transitions: 6, windowMs: 600_000 } satisfies FlappingDef,
} as const;

/** Per kind: PyBal's own defaults where PyBal has the monitor (ProxyFetch, RunCommand, DNSQuery, IdleConnection). */
export const CHECK_TIMING_DEFAULTS: Record<CheckKind, { timeoutMs: number; intervalMs: number }> = {
  // ProxyFetch TIMEOUT_GET = 5 s; LoopingCheckMonitoringProtocol INTV_CHECK = 10 s.
  http: { timeoutMs: 5_000, intervalMs: 10_000 },
  tcp: { timeoutMs: 5_000, intervalMs: 10_000 },
  'idle-connection': { timeoutMs: 5_000, intervalMs: 10_000 },
  // RunCommand TIMEOUT_RUN = 20 s, INTV_CHECK = 60 s: plugins may do real end-to-end work.
  command: { timeoutMs: 20_000, intervalMs: 60_000 },
  // DNSQuery TIMEOUT_QUERY = 5 s.
  dns: { timeoutMs: 5_000, intervalMs: 10_000 },
};

/** PyBal has no hysteresis; 2/2 filters one stray result at the cost of one interval. */
export const CHECK_DEFAULTS = {
  rise: 2,
  fall: 2,
} as const;

export const HTTP_DEFAULTS = {
  method: 'GET' as const,
  scheme: 'http' as const,
  /** PyBal ProxyFetch HTTP_STATUS = 200. */
  status: [{ from: 200, to: 200 }],
  checkAll: false,
  maxFailures: 0,
  /** Report, don't depool: the Parsoid servers served real traffic fine while never closing. */
  unclosed: 'warn' as UnclosedPolicy,
  unclosedGraceMs: 1_000,
  /** One new connection per check, like PyBal, so connect failures are seen. */
  keepAlive: false,
  tlsVerify: true,
} as const;

export const IDLE_CONNECTION_DEFAULTS = {
  /** PyBal IdleConnection TIMEOUT_CLEAN_RECONNECT = 3 s. */
  reconnectTimeoutMs: 3_000,
} as const;

export const DNS_DEFAULTS = {
  type: 'A' as const,
} as const;
