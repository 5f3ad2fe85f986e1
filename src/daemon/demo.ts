// `npm start`: poold on the sample pools/, with an embedded etcd and simulated backends, some of
// them misbehaving as in the incidents that motivated poold. One process (plus etcd); Ctrl-C stops all.
import { loadPoolsOrThrow } from '../config/pools/index.js';
import type { Behaviour, BackendSpec } from '../sim/behaviours.js';
import { startControl } from '../sim/control.js';
import { startSimulator } from '../sim/simulator.js';
import { Keys } from '../store/keys.js';
import { Daemon } from './daemon.js';
import { startEmbeddedEtcd } from './embedded-etcd.js';
import { createLogger } from './logger.js';
import { syncAtStart } from './sync-at-start.js';
import { describeError } from '../cli/exit.js';

/** Incident replays: which host of which pool misbehaves, and how. Everything else answers ok. */
const FAULTS: Array<{ dc: string; service: string; index: number; behaviour: Behaviour; why: string; flapEvery?: { seconds: number } }> = [
  { dc: 'eqiad', service: 'cxserver', index: 1, behaviour: '404-root', why: '404 on / but 200 on /_info (cxserver migration): healthy, because pools/ checks /_info' },
  { dc: 'eqiad', service: 'parsoid', index: 1, behaviour: 'never-close', why: 'answers, never closes (Parsoid): up, with an unclosed warning' },
  { dc: 'eqiad', service: 'restbase', index: 1, behaviour: 'empty-200', why: '200 with an empty body (RESTBase): down' },
  { dc: 'eqiad', service: 'restbase', index: 2, behaviour: 'empty-200', why: 'a second bad RESTBase node: the threshold keeps the pool serving' },
  { dc: 'eqiad', service: 'eventlogging', index: 1, behaviour: 'flapping', flapEvery: { seconds: 8 }, why: 'fails and recovers all day (EventLogging): flapping alert' },
  { dc: 'codfw', service: 'mobileapps', index: 2, behaviour: 'hang-before-headers', why: 'accepts, never answers: down on headers timeout' },
];

async function main(): Promise<void> {
  const log = createLogger(process.env.POOLD_LOG_LEVEL ?? 'warn');
  const services = await loadPoolsOrThrow('pools');
  const backends: BackendSpec[] = [];
  const notes: string[] = [];
  for (const svc of services) {
    Object.entries(svc.servers).forEach(([host, server], i) => {
      if (server.address === undefined) return;
      const fault = FAULTS.find((f) => f.dc === svc.dc && f.service === svc.service && f.index === i);
      backends.push({ address: server.address, port: svc.lvs.port, behaviour: fault?.behaviour ?? 'ok', service: svc.service, flapEvery: fault?.flapEvery });
      if (fault) notes.push(`  ${host.padEnd(26)} ${fault.behaviour.padEnd(20)} ${fault.why}`);
    });
  }

  const etcd = await startEmbeddedEtcd({ dataDir: 'var/etcd' });
  const sim = await startSimulator({ backends });
  const control = await startControl(sim, '127.0.0.1', Number(process.env.POOLD_SIM_PORT ?? 9191));
  const keys = new Keys();
  await syncAtStart('pools', { endpoints: [etcd.endpoint] }, keys, log);
  const daemon = new Daemon({
    etcd: { endpoints: [etcd.endpoint] },
    keys,
    observer: 'demo',
    quorum: 'majority',
    host: '127.0.0.1',
    port: Number(process.env.POOLD_PORT ?? 9090),
    leaseTtlSeconds: 5,
    log,
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping poold, simulator and etcd...\n');
    await daemon.stop().catch((err: unknown) => log.error({ err }, 'poold stop failed'));
    await control.close();
    await sim.stop();
    await etcd.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await daemon.start();

  const api = daemon.url;
  const sc = `http://${control.address}:${control.port}`;
  process.stdout.write([
    '',
    `poold is running on ${services.length} sample pools (${backends.length} simulated backends), etcd at ${etcd.endpoint}.`,
    '',
    `  Dashboard        ${api}/`,
    `  PyBal pools      ${api}/pools          ${api}/pools/cxserver`,
    `  Alerts           ${api}/alerts`,
    `  JSON API         ${api}/v1/pools       events: ${api}/v1/events`,
    `  Metrics          ${api}/metrics`,
    `  PyBal list       ${api}/pybal/eqiad/sca/cxserver`,
    `  Simulator        ${sc}/backends`,
    '',
    'Misbehaving backends (incident replays):',
    ...notes,
    '',
    'Try, in another terminal:',
    '  npx poolctl status cxserver',
    '  npx poolctl depool sca1001 --reason "deploy"',
    `  curl -X POST -d '{"behaviour":"404-root"}' ${sc}/backends/127.10.1.1:8080/behaviour`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`poold demo: ${describeError(err)}\n`);
  process.exit(1);
});
