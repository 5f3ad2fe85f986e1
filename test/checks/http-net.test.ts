// The http behaviour tests again, on the node:net transport: it carries plain TCP whenever the
// handle transport is unavailable (conn.ts), so it must give the same verdicts.
import t from 'tap';
import { setTcpTransport, tcpTransport } from '../../src/checks/conn.js';

setTcpTransport('net');
t.equal(tcpTransport().transport, 'net', 'these tests run on node:net');
await import('./http.test.js');
await import('./http-reads.test.js');
