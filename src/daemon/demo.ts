// `npm start`: poold on the sample pools/, with an embedded etcd and simulated backends, some of
// them misbehaving as in the incidents that motivated poold. One poold per dc, as in production (an
// LVS site's PyBal only knows its own dc, and PyBal names pools by service name alone), in one
// process with the simulator; etcd is a child. Ctrl-C stops all.
import { loadPoolsOrThrow } from '../config/pools/index.js';
import type { Behaviour, BackendSpec } from '../sim/behaviours.js';
import { startControl } from '../sim/control.js';
import { startSimulator } from '../sim/simulator.js';
import { Keys } from '../store/keys.js';
import { Daemon } from './daemon.js';
import { envPort, startEmbeddedEtcd } from './embedded-etcd.js';
import { createLogger } from './logger.js';
import { syncAtStart } from './sync-at-start.js';
import { describeError } from '../model/exit-codes.js';
import { join } from 'node:path';

/** Incident replays: which host of which pool misbehaves, and how. Everything else answers ok. */
const FAULTS: Array<{ dc: string; service: string; index: number; behaviour: Behaviour; why: string; flapEvery?: { seconds: number } }> = [
  { dc: 'eqiad', service: 'cxserver', index: 1, behaviour: '404-root', why: '404 on / but 200 on /_info (cxserver migration): healthy, because pools/ checks /_info' },
  { dc: 'eqiad', service: 'parsoid', index: 1, behaviour: 'never-close', why: 'answers, never closes (Parsoid): up, with an unclosed warning' },
  { dc: 'eqiad', service: 'restbase', index: 1, behaviour: 'empty-200', why: '200 with an empty body (RESTBase): down' },
  { dc: 'eqiad', service: 'restbase', index: 2, behaviour: 'empty-200', why: 'a second bad node: also depooled (4 x 0.5 allows 2 down); a third would be kept by the threshold' },
  { dc: 'eqiad', service: 'eventlogging', index: 1, behaviour: 'ok', why: 'its writer dies and recovers every 20 s (EventLogging): flapping alert after 4 transitions' },
  { dc: 'codfw', service: 'mobileapps', index: 2, behaviour: 'hang-before-headers', why: 'accepts, never answers: down on headers timeout' },
];

/** What must be stopped on the way out, newest first; a failed start must not leave etcd behind. */
const cleanups: Array<() => Promise<void>> = [];

async function main(): Promise<void> {
  const log = createLogger(process.env.POOLD_LOG_LEVEL ?? 'warn');
  const ports = { api: envPort('POOLD_PORT', 9090), sim: envPort('POOLD_SIM_PORT', 9191), etcd: envPort('POOLD_ETCD_PORT', 2379) };
  const services = await loadPoolsOrThrow('pools');
  const backends: BackendSpec[] = [];
  const notes: string[] = [];
  const simulated = new Set<string>();
  for (const svc of services) {
    Object.entries(svc.servers).forEach(([host, server], i) => {
      if (server.address === undefined) return;
      // LVS services over one pool on one port share the backend: simulate it once.
      const id = `${server.address}:${svc.lvs.port}`;
      if (simulated.has(id)) return;
      simulated.add(id);
      const fault = FAULTS.find((f) => f.dc === svc.dc && f.service === svc.catalog && f.index === i);
      backends.push({ address: server.address, port: svc.lvs.port, behaviour: fault?.behaviour ?? 'ok', service: svc.catalog, flapEvery: fault?.flapEvery });
      if (fault) notes.push(`  ${host.padEnd(26)} ${fault.behaviour.padEnd(20)} ${fault.why}`);
    });
  }

  const etcd = await startEmbeddedEtcd({ dataDir: process.env.POOLD_DATA_DIR ?? join('var', 'etcd'), clientPort: ports.etcd });
  cleanups.unshift(() => etcd.stop());
  const sim = await startSimulator({ backends });
  cleanups.unshift(() => sim.stop());
  const control = await startControl(sim, '127.0.0.1', ports.sim);
  cleanups.unshift(() => control.close());
  const keys = new Keys();
  await syncAtStart('pools', { endpoints: [etcd.endpoint] }, keys, log);
  const dcs = [...new Set(services.map((s) => s.dc))].sort((a, b) => (a === 'eqiad' ? -1 : b === 'eqiad' ? 1 : a < b ? -1 : 1));
  const daemons = dcs.map((dc, i) => new Daemon({
    etcd: { endpoints: [etcd.endpoint] },
    keys,
    observer: `demo-${dc}`,
    dcs: [dc],
    quorum: 'majority',
    host: '127.0.0.1',
    port: ports.api + i,
    leaseTtlSeconds: 5,
    log,
  }));
  for (const d of daemons) cleanups.unshift(() => d.stop().catch((err: unknown) => log.error({ err }, 'poold stop failed')));
  // The EventLogging writer: its intake port goes away and comes back, as the real writer did all day.
  const writer = services.find((s) => s.dc === 'eqiad' && s.catalog === 'eventlogging');
  const writerAddr = writer && Object.values(writer.servers)[1]?.address;
  if (writer && writerAddr) {
    let down = false;
    const timer = setInterval(() => {
      down = !down;
      sim.setBehaviour(writerAddr, writer.lvs.port, down ? 'refused' : 'ok').catch((err: unknown) => log.error({ err }, 'demo writer toggle failed'));
    }, 20_000);
    cleanups.unshift(async () => clearInterval(timer));
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping poold, simulator and etcd...\n');
    await cleanUp();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  for (const d of daemons) await d.start();

  const api = daemons[0].url;
  const sc = `http://${control.address}:${control.port}`;
  // poolctl's default endpoint is 127.0.0.1:2379; on another port it must be told.
  const env = ports.etcd === 2379 ? '' : `POOLD_ETCD=${etcd.endpoint} `;
  process.stdout.write([
    '',
    `poold is running on ${services.length} sample pools (${backends.length} simulated backends), etcd at ${etcd.endpoint}:`,
    ...daemons.map((d, i) => `one poold per dc, ${dcs[i]} at ${d.url}`),
    `(below: ${dcs[0]}; each instance serves the same routes for its own dc)`,
    '',
    `  Dashboard        ${api}/`,
    `  PyBal pools      ${api}/pools          ${api}/pools/cxserver_8080`,
    `  Alerts           ${api}/alerts`,
    `  JSON API         ${api}/v1/pools       events: ${api}/v1/events`,
    `  Metrics          ${api}/metrics`,
    `  PyBal list       ${api}/pybal/eqiad/cxserver_8080`,
    `  Simulator        ${sc}/backends`,
    '',
    'Misbehaving backends (incident replays):',
    ...notes,
    '',
    'Try, in another terminal:',
    `  ${env}npx poolctl status eqiad/cxserver_8080 --watch${ports.api === 9090 ? '' : ` --api ${api}`}`,
    `  ${env}npx poolctl depool sca1001 --reason "deploy"`,
    `  ${env}npx poolctl check eqiad/restbase_7231 --nagios`,
    `  curl -X POST -d '{"behaviour":"404-root"}' ${sc}/backends/127.10.1.1:8080/behaviour`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'));
}

async function cleanUp(): Promise<void> {
  for (const c of cleanups.splice(0)) {
    await c().catch((err: unknown) => process.stderr.write(`poold demo: while stopping: ${describeError(err)}\n`));
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`poold demo: ${describeError(err)}\n`);
  await cleanUp();
  process.exit(1);
});
