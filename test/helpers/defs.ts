// The one HttpCheckDef builder for tests: every field the pools/ loader fills in, with test-friendly
// timings. Callers override what their test is about.
import type { HttpCheckDef } from '../../src/model/types.js';

export function httpCheckDef(over: Partial<HttpCheckDef> = {}): HttpCheckDef {
  return {
    kind: 'http',
    name: 'http',
    timeoutMs: 500,
    intervalMs: 1000,
    rise: 1,
    fall: 1,
    method: 'GET',
    scheme: 'http',
    urls: ['/_info'],
    checkAll: false,
    maxFailures: 0,
    headers: {},
    tls: { verify: true },
    expect: { status: [{ from: 200, to: 200 }] },
    unclosed: 'warn',
    unclosedGraceMs: 100,
    keepAlive: false,
    ...over,
  };
}
