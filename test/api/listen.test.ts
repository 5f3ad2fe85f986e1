// startApi on a real socket: loopback by default, and the PyBal bytes survive the wire.
import { connect } from 'node:net';
import t from 'tap';
import { startApi } from '../../src/api/server.js';
import { cxView } from './fixtures.js';

/** Sends a raw HTTP/1.1 request and returns the raw response (headers and body). */
function rawGet(port: number, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.write(lines.join('\r\n') + '\r\n\r\n');
    });
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}

t.test('startApi binds 127.0.0.1 by default and serves PyBal bytes over the wire', async (t) => {
  const api = await startApi({ view: cxView(), port: 0 });
  t.teardown(() => api.close());
  t.equal(api.host, '127.0.0.1', 'loopback unless told otherwise');
  t.ok(api.port > 0);
  const addr = api.app.server.address();
  t.match(addr, { address: '127.0.0.1', family: 'IPv4' });

  const text = await rawGet(api.port, ['GET /pools/cxserver/sca1003.eqiad.wmnet HTTP/1.1', 'Host: localhost', 'Connection: close']);
  const [head, body] = text.split('\r\n\r\n');
  t.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(head, /\r\ncontent-type: text\/plain\r\n/i);
  t.equal(body, 'enabled/partially up/pooled\n');

  // Two Accept header lines, as raw as a client can send them.
  const json = await rawGet(api.port, [
    'GET /pools/cxserver/sca1001.eqiad.wmnet HTTP/1.1',
    'Host: localhost',
    'Accept: text/html',
    'Accept: application/json',
    'Connection: close',
  ]);
  t.equal(json.split('\r\n\r\n')[1], '{"pooled": true, "enabled": true, "up": true, "weight": 10}');

  const notFound = await rawGet(api.port, ['GET /test HTTP/1.1', 'Host: localhost', 'Connection: close']);
  t.match(notFound, /^HTTP\/1\.1 404 Not Found\r\n/);
  t.equal(notFound.split('\r\n\r\n')[1], 'The desired url was not found');
});

t.test('startApi honours an explicit host', async (t) => {
  const api = await startApi({ view: cxView(), host: '127.0.0.2', port: 0 });
  t.teardown(() => api.close());
  t.equal(api.host, '127.0.0.2');
  const r = await fetch(`http://127.0.0.2:${api.port}/healthz`);
  t.equal(await r.text(), 'ok');
});
