// The Nagios output of the daemon's own check code (runChecksOnce) against real HTTP backends:
// what Icinga shows for the cxserver incident (404 on /) and the Parsoid one (never closed).
import t from 'tap';
import { createServer, type Server } from 'node:net';
import { runChecksOnce } from '../../src/checks/run-once.js';
import { checkRunToNagios, checkRunsToNagios } from '../../src/monitoring/nagios-output.js';
import { cxserver, httpCheck } from './fixtures.js';

/** A raw TCP backend so the test controls framing and whether the socket closes. */
function backend(respond: (path: string) => { status: number; body: string; close: boolean }): Promise<{ port: number; server: Server }> {
  return new Promise((resolve) => {
    const server = createServer((sock) => {
      sock.once('data', (buf) => {
        const path = /^GET (\S+)/.exec(buf.toString())?.[1] ?? '/';
        const r = respond(path);
        sock.write(`HTTP/1.1 ${r.status} X\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\nContent-Type: text/plain\r\n\r\n${r.body}`);
        if (r.close) sock.end();
      });
      sock.on('error', () => sock.destroy());
    });
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, server }));
  });
}

t.test('404 on the check path is CRITICAL with the reason; /_info OK; unclosed is WARNING', async (t) => {
  const { port, server } = await backend((p) =>
    p === '/_info' ? { status: 200, body: 'cxserver ok', close: true } : p === '/hang' ? { status: 200, body: 'ok', close: false } : { status: 404, body: 'nope', close: true },
  );
  t.teardown(() => server.close());
  const base = cxserver({
    lvs: { ip: '127.0.0.1', port, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    servers: { 'sca1001.eqiad.wmnet': { weight: 10, address: '127.0.0.1' } },
  });

  const [root] = await runChecksOnce({ ...base, checks: [httpCheck({ urls: ['/'], timeoutMs: 2000 })] });
  const crit = checkRunToNagios(root);
  t.equal(crit.exit, 2);
  t.match(crit.output, /^POOLD CRITICAL - sca1001\.eqiad\.wmnet http: status 404 \(expected 200\)[^|]* \| time=\d+\.\d{3}s;;;0$/);

  const [info] = await runChecksOnce({ ...base, checks: [httpCheck({ urls: ['/_info'], timeoutMs: 2000 })] });
  const ok = checkRunToNagios(info);
  t.equal(ok.exit, 0, ok.output);
  t.match(ok.output, /^POOLD OK - sca1001\.eqiad\.wmnet http: /);

  const [hang] = await runChecksOnce({ ...base, checks: [httpCheck({ urls: ['/hang'], timeoutMs: 2000, unclosed: 'warn', unclosedGraceMs: 100 })] });
  const warn = checkRunToNagios(hang);
  t.equal(warn.exit, 1, warn.output);
  t.match(warn.output, /^POOLD WARNING - sca1001\.eqiad\.wmnet http: .*warning: /);

  t.equal(checkRunsToNagios([root, info], 'cxserver').exit, 2);
});
