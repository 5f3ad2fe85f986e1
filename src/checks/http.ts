// The http check kind: PyBal's ProxyFetch plus body rules, TLS options and the unclosed policy.
//
// Semantics:
// - urls/checkAll/maxFailures follow PyBal: with checkAll every URL is fetched each round (in
//   parallel, one connection each) and the server is down when more than maxFailures fail; without
//   it one URL per round is fetched, rotating per target (PyBal picks at random; rotation covers all
//   URLs deterministically). A URL may be a path or a full http(s) URL whose host becomes the Host
//   header, as in pybal.conf.
// - The response complete by its framing IS the result. With `Connection: close` sent, a server that
//   still holds the socket `unclosedGraceMs` later (bounded by the deadline) yields an `unclosed`
//   finding: ignore -> nothing (the result does not wait; the socket is closed in the background);
//   warn -> up with a warning finding; fail -> down. With keepAlive there is no `Connection: close`
//   and so no unclosed observation.
// - Deadline codes: see http-exchange.ts. A trickling body ends at the deadline as `body_timeout`
//   (meaning: headers arrived, the body was not complete by the deadline, stalled or trickling).
import { isIP } from 'node:net';
import { PooldError } from '../model/errors.js';
import type { CheckResult, CheckTimings, Finding, HttpCheckDef } from '../model/types.js';
import type { CheckDone, Checker, CheckTarget } from './checker.js';
import { exchange, startExchange, type ExchangeOutcome, type ExchangeSink, type ExchangeSpec } from './http-exchange.js';
import { checkBody, checkStatus, compileBodyRules, needsBody, type CompiledBodyRules } from './http-expect.js';
import { KeepAlivePool } from './http-pool.js';
import { isIpLiteral, resolveAddress } from './resolve.js';
import { clientContext } from './tls-context.js';
import { downResult, hostPort, upResult } from './result.js';

/** Body bytes kept for body rules; larger bodies are judged on their first MiB. */
const MAX_KEPT_BODY = 1024 * 1024;

interface UrlSpec {
  /** As configured, for messages. */
  text: string;
  path: string;
  /** Host from a full URL, used when the check sets no host. */
  urlHost?: string;
}

/** Per (target, URL): see HttpChecker.prepared(). */
interface Prepared {
  host: string;
  address: string;
  port: number;
  request: Buffer;
  /** `address:port` for messages. */
  where: string;
  /** TLS SNI: the check's sni, else the Host header's name unless it is an IP literal. */
  servername: string | undefined;
  poolKey: string;
  /** The exchange for plain http; for https the last one built, with the TLS context it used. */
  spec: ExchangeSpec | undefined;
}

/** What this checker keeps per target: per URL what a run sends, and whether the address is an IP. */
interface PerTarget {
  byUrl: Map<UrlSpec, Prepared>;
  address: string;
  literal: boolean;
}

export class HttpChecker implements Checker {
  private readonly urls: UrlSpec[];
  private readonly body: CompiledBodyRules | undefined;
  private readonly keepBody: number;
  private readonly requests = new Map<string, Buffer>();
  private readonly rotation = new Map<string, number>();
  private readonly pool = new KeepAlivePool();
  /** Targets whose memo belongs to another checker (e.g. run-once checks one target with several). */
  private readonly preparedByTarget = new WeakMap<CheckTarget, PerTarget>();
  /** One plain-http request per run on a new connection: run() needs no promise (see run()). */
  private readonly plain: boolean;

  constructor(readonly def: HttpCheckDef) {
    if (def.urls.length === 0) throw new PooldError(`http check ${def.name}: no urls`, { check: def.name });
    this.urls = def.urls.map((u) => parseUrl(def.name, u));
    for (const [k, v] of Object.entries(def.headers)) {
      if (/[\r\n:]/.test(k) || /[\r\n]/.test(v)) throw new PooldError(`http check ${def.name}: header ${JSON.stringify(k)} contains CR, LF or ':'`, { check: def.name, header: k });
    }
    this.body = compileBodyRules(def.expect.body);
    this.keepBody = needsBody(def.expect.body) ? MAX_KEPT_BODY : 0;
    // Fails now, with the check's name, if the CA file is unreadable.
    if (def.scheme === 'https') clientContext(def.tls.ca, def.name);
    this.plain = def.scheme === 'http' && !def.keepAlive && (!def.checkAll || this.urls.length === 1);
  }

  /**
   * The scheduler's path: for the usual check (plain http, one URL per run, an IP address) the
   * exchange reports straight to a small PlainRun, which judges and calls `done`; no promise, no
   * closure. Every other case is check()'s, with the same results.
   */
  run(target: CheckTarget, deadline: number, done: CheckDone): void {
    if (!this.plain || Date.now() >= deadline || !this.perTarget(target).literal) {
      this.check(target, deadline).then(
        (r) => done(r),
        (err: unknown) => done(undefined, err),
      );
      return;
    }
    const url = this.urls.length === 1 ? this.urls[0] : this.nextUrl(target);
    const p = this.prepared(url, target, target.address, this.def.port ?? target.port);
    const spec = (p.spec ??= this.spec(p, undefined));
    startExchange(spec, deadline, new PlainRun(this, url, p.where, done));
  }

  check(target: CheckTarget, deadline: number): Promise<CheckResult> {
    const started = Date.now();
    if (started >= deadline) return Promise.resolve(downResult('deadline', 'deadline passed before the check started', { totalMs: 0 }));
    // An IP literal (the usual target) needs no resolver round trip, nor its promise.
    if (isIpLiteral(target.address)) return this.checkAt(target, target.address, deadline);
    return this.resolveThenCheck(target, started, deadline);
  }

  private async resolveThenCheck(target: CheckTarget, started: number, deadline: number): Promise<CheckResult> {
    const resolved = await resolveAddress(target.address, deadline);
    if ('failure' in resolved) return downResult(resolved.failure.code, resolved.failure.message, { totalMs: Date.now() - started });
    return this.checkAt(target, resolved.address, deadline);
  }

  private checkAt(target: CheckTarget, address: string, deadline: number): Promise<CheckResult> {
    const port = this.def.port ?? target.port;
    if (!this.def.checkAll) return this.fetchOne(this.nextUrl(target), target, address, port, deadline);
    const urls = this.urls;
    return Promise.all(urls.map((u) => this.fetchOne(u, target, address, port, deadline))).then((results) =>
      results.length === 1 ? results[0] : this.aggregate(urls, results),
    );
  }

  async close(): Promise<void> {
    this.pool.closeAll();
  }

  private nextUrl(target: CheckTarget): UrlSpec {
    if (this.urls.length === 1) return this.urls[0];
    const key = `${target.address}|${target.port}`;
    const n = this.rotation.get(key) ?? 0;
    this.rotation.set(key, n + 1);
    return this.urls[n % this.urls.length];
  }

  private fetchOne(url: UrlSpec, target: CheckTarget, address: string, port: number, deadline: number): Promise<CheckResult> {
    const def = this.def;
    const p = this.prepared(url, target, address, port);
    let spec = p.spec;
    if (def.scheme === 'https') {
      let secureContext;
      try {
        secureContext = clientContext(def.tls.ca, def.name);
      } catch (err) {
        return Promise.resolve(downResult('tls_error', (err as Error).message, { totalMs: 0 }));
      }
      // A rotated CA file gives a new context, hence a new spec.
      if (spec?.tls?.secureContext !== secureContext) {
        spec = p.spec = this.spec(p, { servername: p.servername, rejectUnauthorized: def.tls.verify, secureContext });
      }
    } else if (spec === undefined) {
      spec = p.spec = this.spec(p, undefined);
    }
    if (def.keepAlive) return this.fetchKeptAlive(url, p, spec!, deadline);
    return exchange(spec!, deadline).then((o) => this.judge(url, o, p.where));
  }

  private spec(p: Prepared, tls: ExchangeSpec['tls']): ExchangeSpec {
    const def = this.def;
    return {
      address: p.address,
      port: p.port,
      tls,
      request: p.request,
      noBody: def.method === 'HEAD',
      keepBodyBytes: this.keepBody,
      unclosedGraceMs: def.keepAlive || def.unclosed === 'ignore' ? 0 : def.unclosedGraceMs,
      lingerMs: def.unclosedGraceMs,
      keepAlive: def.keepAlive,
    };
  }

  private async fetchKeptAlive(url: UrlSpec, p: Prepared, spec: ExchangeSpec, deadline: number): Promise<CheckResult> {
    let outcome = await exchange(spec, deadline, this.pool.take(p.poolKey));
    // A kept-alive socket the server had silently closed: retry once on a fresh connection.
    if (outcome.staleReuse && Date.now() < deadline) outcome = await exchange(spec, deadline);
    if (outcome.conn) this.pool.put(p.poolKey, outcome.conn);
    return this.judge(url, outcome, p.where);
  }

  /**
   * What a check of this URL on this target sends and reports, computed once per (target, URL) and
   * kept while the target's host, address and port stay the same (the scheduler passes the same
   * target object on every run).
   */
  private prepared(url: UrlSpec, target: CheckTarget, address: string, port: number): Prepared {
    const perUrl = this.perTarget(target).byUrl;
    let p = perUrl.get(url);
    if (!p || p.host !== target.host || p.address !== address || p.port !== port) {
      const hostHeader = this.def.host ?? url.urlHost ?? target.host;
      const bareHost = hostHeader.replace(/:\d+$/, '');
      p = {
        host: target.host,
        address,
        port,
        request: this.request(url, hostHeader),
        where: hostPort(address, port),
        servername: this.def.tls.sni ?? (isIP(bareHost) ? undefined : bareHost),
        poolKey: `${address}|${port}|${hostHeader}`,
        spec: undefined,
      };
      perUrl.set(url, p);
    }
    return p;
  }

  /** This checker's memo of a target: in the target itself when free (the scheduler's), else a WeakMap. */
  private perTarget(target: CheckTarget): PerTarget {
    const memo = target.memo;
    let m: PerTarget | undefined;
    if (memo !== undefined && memo.owner === this) m = memo.data as PerTarget;
    else m = this.preparedByTarget.get(target);
    if (m === undefined) {
      m = { byUrl: new Map(), address: target.address, literal: isIpLiteral(target.address) };
      if (memo === undefined) target.memo = { owner: this, data: m };
      else this.preparedByTarget.set(target, m);
    } else if (m.address !== target.address) {
      m.address = target.address;
      m.literal = isIpLiteral(target.address);
    }
    return m;
  }

  /** The result of one URL's exchange (PlainRun calls it too). */
  judge(url: UrlSpec, o: ExchangeOutcome, where: string): CheckResult {
    const detail: Record<string, unknown> = { url: url.text, target: where, bytes: o.bodyBytes };
    if (o.head) detail.status = o.head.status;
    if (o.failure) return downResult(o.failure.code, o.failure.message, o.timings, detail);
    const status = o.head!.status;
    const findings: Finding[] = [];
    let unclosedDown = false;
    if (o.unclosed) {
      const message = `server kept the connection open ${o.unclosedWaitMs} ms after a complete response (Connection: close was sent)`;
      if (this.def.unclosed === 'fail') unclosedDown = true;
      findings.push({ code: 'unclosed', message, severity: this.def.unclosed === 'fail' ? 'critical' : 'warning' });
    }
    const bad = checkStatus(status, this.def.expect.status) ?? checkBody(this.body, o.body ?? EMPTY, o.bodyBytes);
    if (bad) return downResult(bad.code, bad.message, o.timings, detail, findings);
    if (unclosedDown) return downResult('unclosed', findings[0].message, o.timings, detail, findings);
    return upResult(`HTTP ${status}, ${o.bodyBytes} bytes in ${o.timings.totalMs} ms`, o.timings, detail, findings);
  }

  private aggregate(urls: UrlSpec[], results: CheckResult[]): CheckResult {
    const failed = results.map((r, i) => ({ r, url: urls[i].text })).filter((x) => !x.r.up);
    const timings: CheckTimings = {
      connectMs: maxOf(results.map((r) => r.timings.connectMs)),
      firstByteMs: maxOf(results.map((r) => r.timings.firstByteMs)),
      totalMs: maxOf(results.map((r) => r.timings.totalMs)) ?? 0,
    };
    const detail = { urls: results.map((r, i) => ({ url: urls[i].text, up: r.up, code: r.code, message: r.message, ...r.detail })) };
    const findings = results.flatMap((r) => r.findings);
    const failureText = failed.map((x) => `${x.url}: ${x.r.message}`).join('; ');
    if (failed.length > this.def.maxFailures) {
      return downResult(failed[0].r.code, `${failed.length} of ${results.length} URLs failed (max ${this.def.maxFailures}): ${failureText}`, timings, detail, findings);
    }
    for (const x of failed) findings.push({ code: x.r.code, message: `${x.url}: ${x.r.message}`, severity: 'warning' });
    const message = failed.length === 0 ? `${results.length} URLs OK` : `${results.length - failed.length} of ${results.length} URLs OK (tolerating ${this.def.maxFailures} failures)`;
    return upResult(message, timings, detail, findings);
  }

  /** The request bytes, built once per URL and Host header. */
  private request(url: UrlSpec, hostHeader: string): Buffer {
    const key = `${url.path}\n${hostHeader}`;
    let buf = this.requests.get(key);
    if (!buf) {
      let text = `${this.def.method} ${url.path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: poold-check\r\nAccept: */*\r\n`;
      if (!this.def.keepAlive) text += 'Connection: close\r\n';
      for (const [k, v] of Object.entries(this.def.headers)) text += `${k}: ${v}\r\n`;
      buf = Buffer.from(`${text}\r\n`, 'latin1');
      this.requests.set(key, buf);
    }
    return buf;
  }
}

const EMPTY = Buffer.alloc(0);

/** One run of HttpChecker.run's plain path: hears the exchange and reports the judged result. */
class PlainRun implements ExchangeSink {
  constructor(
    private readonly checker: HttpChecker,
    private readonly url: UrlSpec,
    private readonly where: string,
    private readonly done: CheckDone,
  ) {}

  exchanged(o: ExchangeOutcome): void {
    let r: CheckResult;
    try {
      r = this.checker.judge(this.url, o, this.where);
    } catch (err) {
      // As a rejected check() promise would: the caller reports the checker's error.
      this.done(undefined, err);
      return;
    }
    this.done(r);
  }
}

function maxOf(values: (number | undefined)[]): number | undefined {
  let m: number | undefined;
  for (const v of values) if (v !== undefined && (m === undefined || v > m)) m = v;
  return m;
}

function parseUrl(check: string, text: string): UrlSpec {
  if (/^https?:\/\//i.test(text)) {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      throw new PooldError(`http check ${check}: bad URL ${JSON.stringify(text)}`, { check, url: text });
    }
    return { text, path: `${u.pathname}${u.search}`, urlHost: u.host };
  }
  if (!text.startsWith('/') || /[\s]/.test(text)) throw new PooldError(`http check ${check}: URL path must start with / and contain no spaces: ${JSON.stringify(text)}`, { check, url: text });
  return { text, path: text };
}
