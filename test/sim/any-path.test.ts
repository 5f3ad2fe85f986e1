// The simulator's anyPath option: a backend that answers 200 on every path, so an imported site's health
// URLs (/readiness-probe, /w/health-check.php, ...) are served without listing them (test/helpers/wmf-site.ts).
import t from 'tap';
import { startSimulator } from '../../src/sim/simulator.js';
import { expandSpec } from '../../src/sim/spec.js';
import { loopbackAddress } from '../checks/check-defs.js';

const status = async (address: string, port: number, path: string) => (await fetch(`http://${address}:${port}${path}`, { signal: AbortSignal.timeout(5000) })).status;

t.test('anyPath: 200 on every path; without it, 404 off / and /_info', async (t) => {
  const sim = await startSimulator({ backends: [
    { address: loopbackAddress(), port: 0, behaviour: 'ok', anyPath: true },
    { address: loopbackAddress(), port: 0, behaviour: 'ok' },
  ] });
  t.teardown(() => sim.stop());
  const [any, plain] = sim.list();
  t.equal(await status(any.address, any.port, '/readiness-probe'), 200);
  t.equal(await status(any.address, any.port, '/w/health-check.php?force_php74=1'), 200);
  t.equal(await status(plain.address, plain.port, '/readiness-probe'), 404);
  t.equal(await status(plain.address, plain.port, '/'), 200);
  // setBehaviour merges options: a behaviour change keeps anyPath.
  await sim.setBehaviour(any.address, any.port, 'flapping', { flapEvery: { requests: 100 } });
  t.equal(await status(any.address, any.port, '/_status'), 200);
});

t.test('anyPath in a spec file must be a boolean', async (t) => {
  t.equal(expandSpec({ backends: [{ address: '127.0.0.2', port: 80, behaviour: 'ok', anyPath: true }] })[0].anyPath, true);
  t.throws(() => expandSpec({ backends: [{ address: '127.0.0.2', port: 80, behaviour: 'ok', anyPath: 'yes' }] }, 'f.json'), /f\.json\.backends\[0\]\.anyPath: expected true or false/);
});
