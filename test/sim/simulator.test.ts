// The backend simulator: spec expansion, runtime control over HTTP, the CLI, and 10k backends.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { HttpChecker } from '../../src/checks/http.js';
import { UsageError } from '../../src/model/errors.js';
import { startControl } from '../../src/sim/control.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { expandSpec } from '../../src/sim/spec.js';
import { httpDef, loopbackAddress } from '../checks/check-defs.js';

t.test('ranges expand to consecutive loopback addresses, skipping .0 and .255', async (tt) => {
  const b = expandSpec({ ranges: [{ start: '127.10.0.254', count: 3, port: 8080, behaviour: 'ok', service: 'x' }] });
  tt.same(
    b.map((x) => x.address),
    ['127.10.0.254', '127.10.1.1', '127.10.1.2'],
  );
  tt.equal(b[0].service, 'x');
  tt.throws(() => expandSpec({ backends: [{ address: '127.0.0.2', port: 80, behaviour: 'teapot' }] }, 'f.json'), UsageError);
  tt.throws(() => expandSpec({ backends: [{ address: '127.0.0.2', port: 80, behaviour: 'teapot' }] }, 'f.json'), /f\.json\.backends\[0\]\.behaviour: expected one of ok, 404-root/);
  tt.throws(() => expandSpec({ ranges: [{ start: '10.0.0.1', count: 1, port: 1, behaviour: 'ok' }] }), /ranges\[0\]\.start: expected a 127\.x\.y\.z address/);
  tt.throws(() => expandSpec({ backends: [{ address: '127.0.0.2', port: 80, behaviour: 'ok', delayMs: 'slow' }] }), /backends\[0\]\.delayMs: expected milliseconds/);
});

t.test('the control endpoint changes a backend at runtime', async (tt) => {
  const sim = await startSimulator({ backends: [{ address: loopbackAddress(), port: 0, behaviour: 'ok', service: 'parsoid' }] });
  const control = await startControl(sim, '127.0.0.1', 0);
  tt.teardown(async () => {
    await control.close();
    await sim.stop();
  });
  const [{ address, port }] = sim.list();
  const base = `http://127.0.0.1:${control.port}`;
  const checker = new HttpChecker(httpDef({ unclosed: 'fail', unclosedGraceMs: 100 }));
  const check = () => checker.check({ host: 'h', address, port }, Date.now() + 500);
  tt.equal((await check()).up, true);

  const set = await fetch(`${base}/backends/${address}:${port}/behaviour`, { method: 'POST', body: JSON.stringify({ behaviour: 'never-close' }) });
  tt.equal(set.status, 200);
  tt.equal(((await set.json()) as { behaviour: string }).behaviour, 'never-close');
  tt.equal((await check()).code, 'unclosed', 'the next check sees the new behaviour');

  const plain = await fetch(`${base}/backends/${address}:${port}/behaviour`, { method: 'POST', body: 'refused' });
  tt.equal(plain.status, 200, 'a bare behaviour name works too');
  tt.equal((await check()).code, 'refused');

  const one = (await (await fetch(`${base}/backends/${address}:${port}`)).json()) as { connections: number; requests: number; behaviour: string };
  tt.equal(one.behaviour, 'refused');
  tt.equal(one.requests, 2, 'counters: two requests served before it stopped listening');
  const all = (await (await fetch(`${base}/backends`)).json()) as unknown[];
  tt.equal(all.length, 1);
  const totals = (await (await fetch(`${base}/stats`)).json()) as { backends: number; connections: number };
  tt.equal(totals.backends, 1);
  tt.equal(totals.connections, 2);

  const bad = await fetch(`${base}/backends/${address}:${port}/behaviour`, { method: 'POST', body: '{"behaviour":"teapot"}' });
  tt.equal(bad.status, 400);
  tt.match(((await bad.json()) as { error: string }).error, /unknown behaviour "teapot"/);
  const missing = await fetch(`${base}/backends/127.9.9.9:1/behaviour`, { method: 'POST', body: 'ok' });
  tt.equal(missing.status, 404);
  tt.equal((await fetch(`${base}/nope`)).status, 404);
});

t.test('the CLI serves a spec file and a control port', async (tt) => {
  const dir = mkdtempSync(join(tmpdir(), 'poold-sim-cli-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const address = loopbackAddress();
  const port = 20000 + Math.floor(Math.random() * 30000);
  const specPath = join(dir, 'spec.json');
  writeFileSync(specPath, JSON.stringify({ backends: [{ address, port, behaviour: '404-root', service: 'cxserver' }] }));
  // Run the TypeScript entry with the same loader tap uses for this test.
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  const child = spawn(process.execPath, [...loader, 'src/sim/main.ts', '--spec', specPath, '--control', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  tt.teardown(() => {
    child.kill('SIGTERM');
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`sim exited ${code}: ${stderr}`)));
  });
  const ready = JSON.parse(line) as { ready: boolean; backends: number; control: string };
  tt.equal(ready.ready, true);
  tt.equal(ready.backends, 1);
  const r = await new HttpChecker(httpDef({ urls: ['/'] })).check({ host: 'h', address, port }, Date.now() + 500);
  tt.equal(r.message, 'status 404 (expected 200)');
  const res = await fetch(`http://${ready.control}/backends/${address}:${port}/behaviour`, { method: 'POST', body: 'ok' });
  tt.equal(res.status, 200);
  tt.equal((await new HttpChecker(httpDef({ urls: ['/'] })).check({ host: 'h', address, port }, Date.now() + 500)).up, true);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  tt.equal(await exited, 0, 'SIGTERM stops it cleanly');
});

t.test('the CLI rejects a bad spec with where and what, exit 2', async (tt) => {
  const dir = mkdtempSync(join(tmpdir(), 'poold-sim-cli-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const specPath = join(dir, 'bad.json');
  writeFileSync(specPath, JSON.stringify({ backends: [{ address: '127.0.0.2', port: 80 }] }));
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  const child = spawn(process.execPath, [...loader, 'src/sim/main.ts', '--spec', specPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  tt.equal(code, 2);
  tt.match(stderr, /bad\.json\.backends\[0\]\.behaviour: expected one of/);
});

t.test('10k backends in one process', async (tt) => {
  const start = Date.now();
  const third = 100 + Math.floor(Math.random() * 100);
  const port = 20000 + Math.floor(Math.random() * 30000);
  const sim = await startSimulator({ backends: expandSpec({ ranges: [{ start: `127.${third}.0.1`, count: 10_000, port, behaviour: 'ok' }] }) });
  tt.teardown(() => sim.stop());
  tt.equal(sim.totals().backends, 10_000);
  const list = sim.list();
  const checker = new HttpChecker(httpDef());
  for (const b of [list[0], list[5000], list[9999]]) {
    const r = await checker.check({ host: 'h', address: b.address, port: b.port }, Date.now() + 500);
    tt.equal(r.up, true, `${b.address}:${b.port} answers`);
  }
  tt.comment(`started 10k backends in ${Date.now() - start} ms`);
});

t.test('flapping by time alternates every N seconds', async (tt) => {
  const sim = await startSimulator({ backends: [{ address: loopbackAddress(), port: 0, behaviour: 'flapping', flapEvery: { seconds: 0.3 } }] });
  tt.teardown(() => sim.stop());
  const [{ address, port }] = sim.list();
  const checker = new HttpChecker(httpDef());
  await sim.setBehaviour(address, port, 'flapping', { flapEvery: { seconds: 0.3 } }); // restarts the phase clock
  const t0 = Date.now();
  // Judge each sample by the phase it was served in; samples that straddle a phase boundary (with
  // 30 ms of margin) are skipped, so event-loop lag on a busy machine cannot fail the test.
  const judged: string[] = [];
  const states = new Set<boolean>();
  while (Date.now() - t0 < 1500) {
    const sent = Date.now() - t0;
    const r = await checker.check({ host: 'h', address, port }, Date.now() + 500);
    const answered = Date.now() - t0;
    const phase = Math.floor((sent - 30) / 300);
    if (phase === Math.floor((answered + 30) / 300) && sent >= 30) {
      const expectUp = phase % 2 === 0;
      judged.push(`${sent}-${answered} ms: ${r.up ? 'up' : 'down'}${r.up === expectUp ? '' : ' (WRONG)'}`);
      states.add(r.up);
    }
    await new Promise((res) => setTimeout(res, 70));
  }
  tt.notMatch(judged.join('; '), /WRONG/, judged.join('; '));
  tt.same([...states].sort(), [false, true], 'both phases were observed');
});

t.test('setBehaviour without options keeps the options set before (service name in /_info)', async (t) => {
  const sim = await startSimulator({ backends: [{ address: '127.36.0.1', port: 0, behaviour: 'ok', service: 'cxserver' }] });
  t.teardown(() => sim.stop());
  const { port } = sim.list()[0];
  await sim.setBehaviour('127.36.0.1', port, 'empty-200');
  await sim.setBehaviour('127.36.0.1', port, 'ok');
  const body = await (await fetch(`http://127.36.0.1:${port}/_info`)).text();
  t.match(body, /cxserver/, `the service name survived two behaviour changes: ${body}`);
});
