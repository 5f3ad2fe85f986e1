// The scheduler with the real http checker against real simulated backends on loopback, in real time:
// backends go down and come back, and health follows with the right reason codes.
import t from 'tap';
import { CheckScheduler, type CheckRunEvent, type TargetHealthEvent } from '../../src/checks/scheduler.js';
import { createChecker } from '../../src/checks/index.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { httpDef, svc } from './scheduler-fakes.js';

async function waitFor(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('real backends going down and up drive health, with reasons; a shared probe hits the backend once per round', async (t) => {
  const addrs = ['127.0.77.1', '127.0.77.2', '127.0.77.3'];
  const sim = await startSimulator({ backends: addrs.map((address) => ({ address, port: 0, behaviour: 'ok', service: 'cxserver' })) });
  t.teardown(() => sim.stop());
  const port = (a: string) => sim.list().find((b) => b.address === a)!.port;

  const sched = new CheckScheduler({ createChecker });
  const health: TargetHealthEvent[] = [];
  const results: CheckRunEvent[] = [];
  sched.addListener({ health: (e) => health.push(e), result: (e) => results.push(e) });
  const check = httpDef({ intervalMs: 200, timeoutMs: 1000, rise: 2, fall: 2, expect: { status: [{ from: 200, to: 200 }], body: { nonEmpty: true, contains: 'cxserver' } } });
  const flapping = { transitions: 0, windowMs: 0 };
  const keys = addrs.map((address, i) =>
    sched.upsert({ service: svc('cxserver'), host: `sca100${i + 1}.eqiad.wmnet`, address, port: port(address), check, flapping }),
  );
  // A second pool checking sca1001 the same way: must share the probe.
  const citoid = sched.upsert({ service: svc('citoid'), host: 'sca1001.eqiad.wmnet', address: addrs[0], port: port(addrs[0]), check: { ...check, name: 'lvs' }, flapping });
  sched.start();
  t.teardown(() => sched.stop());

  const isUp = (k: string) => sched.health(k)?.up === true;
  await waitFor('all backends up', () => keys.every(isUp) && isUp(citoid));
  t.same(
    health.filter((e) => e.type === 'came_up').map((e) => e.target).sort(),
    [...keys, citoid].sort(),
    'each target came up once',
  );

  // sca1002 stops listening; sca1003 starts answering 200 with an empty body.
  const before = health.length;
  await sim.setBehaviour(addrs[1], port(addrs[1]), 'refused');
  await sim.setBehaviour(addrs[2], port(addrs[2]), 'empty-200');
  await waitFor('sca1002 and sca1003 down', () => !isUp(keys[1]) && !isUp(keys[2]));
  const downs = health.slice(before).filter((e) => e.type === 'went_down');
  t.same(downs.map((e) => [e.host, e.code]).sort(), [
    ['sca1002.eqiad.wmnet', 'refused'],
    ['sca1003.eqiad.wmnet', 'empty_body'],
  ]);
  t.ok(isUp(keys[0]) && isUp(citoid), 'sca1001 unaffected');
  t.notOk(health.slice(before).some((e) => e.host === 'sca1001.eqiad.wmnet'), 'no events for sca1001');

  // Back to normal: both come up again after rise successes.
  const mark = health.length;
  // (service passed again: setBehaviour currently resets options it is not given.)
  await sim.setBehaviour(addrs[1], port(addrs[1]), 'ok', { service: 'cxserver' });
  await sim.setBehaviour(addrs[2], port(addrs[2]), 'ok', { service: 'cxserver' });
  await waitFor('all up again', () => keys.every(isUp));
  t.same(health.slice(mark).filter((e) => e.type === 'came_up').map((e) => e.host).sort(), ['sca1002.eqiad.wmnet', 'sca1003.eqiad.wmnet']);

  // Dedupe against a real backend: sca1001 serves two pools but receives one request per run.
  const r0 = sim.stats(addrs[0], port(addrs[0])).requests;
  const n0 = results.filter((r) => r.target === keys[0]).length;
  await new Promise((r) => setTimeout(r, 1000));
  const requests = sim.stats(addrs[0], port(addrs[0])).requests - r0;
  const runs = results.filter((r) => r.target === keys[0]).length - n0;
  const citoidRuns = results.filter((r) => r.target === citoid).length;
  t.ok(runs >= 4 && runs <= 6, `about 5 runs in 1 s at 200 ms (${runs})`);
  t.ok(Math.abs(requests - runs) <= 1, `one backend request per run (${requests} requests, ${runs} runs)`);
  t.ok(citoidRuns >= runs, 'the second pool got every result too');

  const st = sched.stats();
  t.equal(st.checkerErrors, 0);
  t.equal(st.overdue, 0);
  t.equal(st.lateness.count, st.started, 'every start was measured for lateness');
});
