// The operator dashboard: a read-only page at `/` (for browsers: requests that accept text/html;
// anything else still gets PyBal's 404 there) and its two assets under `/ui/`.
//
// The assets are plain files next to this module (index.html, dashboard.css, dashboard.js): no
// framework, no CDN, no build step, so the page works on an air-gapped LVS host. tsc does not copy
// non-TS files into dist/, so when this module runs compiled (dist/src/api/dashboard/) the files are
// read from the source tree (src/api/dashboard/) instead. They are read once, at registration: a
// missing file fails the daemon's start with a message naming the path, rather than a 404 later.
//
// The page only GETs /v1/pools, /v1/pools/:dc/:cluster/:service and /v1/events; the API has no
// write routes, and the Content-Security-Policy keeps the page from loading or sending anything
// elsewhere (no inline script, no third-party origin).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { PooldError } from '../../model/errors.js';

interface Asset {
  file: string;
  type: string;
}

/** URL → file. A fixed list: nothing from the request ever becomes a path. */
const ASSETS: Readonly<Record<string, Asset>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/ui/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
};

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The directory holding the assets: this module's own directory when run from src/ (tap, tsx), or
 * the matching src/ directory when run from dist/ (compiled). Exported for tests.
 */
export function dashboardAssetDir(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const candidates = [here];
  const marker = `${sep}dist${sep}src${sep}`;
  const at = here.lastIndexOf(marker);
  if (at >= 0) candidates.push(here.slice(0, at) + sep + 'src' + sep + here.slice(at + marker.length));
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) {
    throw new PooldError(`dashboard assets not found: looked for index.html in ${candidates.join(' and ')}; poold serves them from its source tree (src/api/dashboard/)`, { candidates });
  }
  return found;
}

/** Whether an Accept header asks for HTML (browsers send `text/html,...`; curl sends a bare wildcard). */
export function acceptsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return type.trim() === 'text/html' && (q === undefined || Number(q.slice(2)) > 0);
  });
}

export interface DashboardRoutesOptions {
  /** Where index.html, dashboard.css and dashboard.js are. Default: dashboardAssetDir(). */
  assetDir?: string;
}

export const dashboardRoutes: FastifyPluginAsync<DashboardRoutesOptions> = async (app, options) => {
  const dir = options.assetDir ?? dashboardAssetDir();
  for (const [url, asset] of Object.entries(ASSETS)) {
    const path = join(dir, asset.file);
    let body: Buffer;
    try {
      body = readFileSync(path);
    } catch (err) {
      throw new PooldError(`dashboard asset ${path} (for ${url}) cannot be read: ${(err as Error).message}`, { path, url }, { cause: err });
    }
    const pageOnly = url === '/';
    app.get(url, { schema: { querystring: { type: 'object' }, response: { 200: { type: 'string' } } } }, async (request, reply) => {
      if (pageOnly) {
        // PyBal answers `/` with its 404, and PyBal-era tooling (curl, check scripts) may rely on
        // that: only browsers, which ask for HTML, get the page.
        reply.header('vary', 'Accept');
        if (!acceptsHtml(request.headers.accept)) return reply.callNotFound();
      }
      return reply
        .type(asset.type)
        // Small files, and a stale dashboard after an upgrade is worse than a re-fetch.
        .header('cache-control', 'no-cache')
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(body);
    });
  }
};
