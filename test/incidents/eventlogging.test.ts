// Incident replay: EventLogging (2014). The database writer failed and recovered all day while its
// port stayed open, and nothing alerted. poold: a command check (Nagios plugin protocol, argv, no
// shell) verifies the work happened, i.e. that the written-events counter advances, so a dead writer
// is down even though TCP answers; and a writer that keeps failing and recovering raises a
// flapping alert.
import t from 'tap';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScenario, waitAllServing, waitFor } from '../helpers/scenario.js';
import { validateIcinga2 } from '../monitoring/validators.js';

const PORT = 18155;
const VIP = '10.2.2.33';
/** The LVS service (PyBal section) over conftool pool eqiad/eventlog/eventlogging: pools/ service `eventlogging` on PORT. */
const NAME = `eventlogging_${PORT}`;
const SECTION = `eqiad/${NAME}`;
const addr = (n: number) => `127.55.0.${n}`;
const host = (n: number) => `eventlog100${n}.eqiad.wmnet`;
const INTERVAL_MS = 400;

// The end-to-end plugin: a shell script (the plugin's own business; poold runs it by argv, with an
// empty environment, so only builtins and absolute paths work). OK when the counter moved since
// the previous run, CRITICAL when it did not.
const PLUGIN = `#!/bin/sh
events="$1"; last_file="$2"
if ! read -r now < "$events"; then echo "EVENTS UNKNOWN - cannot read $events"; exit 3; fi
last=""
if [ -r "$last_file" ]; then read -r last < "$last_file"; fi
echo "$now" > "$last_file"
if [ "$now" = "$last" ]; then echo "EVENTS CRITICAL - no events written since the last check (count $now)"; exit 2; fi
echo "EVENTS OK - $now events written | events=$now"
exit 0
`;

function poolsYaml(dir: string): string {
  return `dc: eqiad
services:
  eventlogging:
    cluster: eventlog
    lvs: { ip: ${VIP}, port: ${PORT} }
    depool_threshold: 0.5
    checks:
      - { kind: tcp, name: port, timeout: 500ms, interval: ${INTERVAL_MS}ms, rise: 1, fall: 1 }
      - kind: command
        name: events-written
        argv: ${JSON.stringify([join(dir, 'check_events'), join(dir, '{host}.events'), join(dir, '{host}.last')])}
        timeout: 2s
        interval: ${INTERVAL_MS}ms
        rise: 1
        fall: 1
    flapping: { transitions: 4, window: 1m }
    servers:
${[1, 2, 3].map((n) => `      ${host(n)}: { weight: 10, address: ${addr(n)} }`).join('\n')}
`;
}

/** The writer of one host: bumps its events counter every 100 ms while running (atomic rename). */
class Writer {
  private n = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly file: string) {
    this.write();
  }
  private write(): void {
    this.n++;
    writeFileSync(`${this.file}.tmp`, `${this.n}\n`);
    renameSync(`${this.file}.tmp`, this.file);
  }
  start(): void {
    this.timer ??= setInterval(() => this.write(), 100);
  }
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

// The plugin and counter files must exist before poold starts checking: make the dir first.
const dir = mkdtempSync(join(tmpdir(), 'poold-eventlogging-'));
writeFileSync(join(dir, 'check_events'), PLUGIN, { mode: 0o755 });
const writers = [1, 2, 3].map((n) => new Writer(join(dir, `${host(n)}.events`)));
for (const w of writers) w.start();
t.teardown(() => {
  writers.forEach((w) => w.stop());
  rmSync(dir, { recursive: true, force: true });
});

const s = await startScenario(t, {
  pools: poolsYaml(dir),
  backends: [1, 2, 3].map((n) => ({ address: addr(n), port: PORT, behaviour: 'ok' as const, service: 'eventlogging' })),
});

t.test('the generated Icinga config with the command check is valid for icinga2', async (t) => {
  const out = join(s.dir, 'poold.conf');
  t.equal((await s.poolctl(['monitoring', 'render', '--out', out, '--poold-url', s.daemon.url])).code, 0);
  const v = await validateIcinga2(readFileSync(out, 'utf8'));
  t.equal(v.code, 0, v.output.slice(-2000));
});

t.test('all writers writing: all serving', async () => {
  await waitAllServing(s, SECTION, 3, VIP, PORT);
});

t.test('a dead writer behind an open port is down: the command check fails, TCP still passes', async (t) => {
  writers[0].stop();
  const st = await waitFor('eventlog1001 depooled', () => s.state(SECTION), (x) => x?.servers[host(1)].up === false && x.servers[host(1)].pooled === false, 10_000);
  t.match(st!.servers[host(1)].reason, /no events written since the last check/, 'the plugin\'s own words are the reason');
  const detail = await (await fetch(`${s.daemon.url}/v1/pools/${SECTION}`)).json() as { hosts: { host: string; verdicts: Record<string, { up: boolean }> }[] };
  const verdicts = detail.hosts.find((h) => h.host === host(1))!.verdicts;
  t.equal(verdicts.port.up, true, 'the TCP port check still passes');
  t.equal(verdicts['events-written'].up, false, 'the end-to-end check does not');
  const tcp = await new Promise<boolean>((resolve) => {
    const c = connect(PORT, addr(1), () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
  t.ok(tcp, 'the port really is open');
  await waitFor('agent removed it', async () => s.table(VIP, PORT), (tb) => !(addr(1) in tb));
  t.ok(await s.ipvsLine(`-d -t ${VIP}:${PORT} -r ${addr(1)}`), 'ipvsadm -d for it');

  writers[0].start();
  await waitAllServing(s, SECTION, 3, VIP, PORT);
});

t.test('a writer that keeps failing and recovering raises a flapping alert', async (t) => {
  // Fail/recover cycles of 1.2 s each: every phase spans at least two check rounds.
  const start = Date.now();
  let on = true;
  const cycle = setInterval(() => {
    on = !on;
    if (on) writers[1].start();
    else writers[1].stop();
  }, 1200);
  t.teardown(() => clearInterval(cycle));
  const alert = await waitFor('/alerts flapping', () => s.alerts(), (a) => /flapping/.test(a), 20_000, 100);
  clearInterval(cycle);
  writers[1].start();
  t.match(alert, new RegExp(`^CRITICAL - .*${NAME}: Servers ${host(2).replace(/\./g, '\\.')} are flapping`), `within ${Date.now() - start} ms: ${alert}`);
  const json = await (await fetch(`${s.daemon.url}/alerts`, { headers: { accept: 'application/json' } })).json() as { status: string; msg: string };
  t.equal(json.status, 'critical');
  const detail = await (await fetch(`${s.daemon.url}/v1/pools/${SECTION}`)).json() as { flapping: string[] };
  t.same(detail.flapping, [host(2)], 'only the flapping writer is marked');
});
