// ipvsadm restore lines must be byte-identical to what PyBal writes (pybal/ipvs.py), except that the
// weight is always present so a drain (weight 0) reaches the kernel.
import t from 'tap';
import { renderCommand, renderRestore, type IpvsCommand } from '../../src/lvs/render.js';
import type { VsId } from '../../src/lvs/table.js';

const v4: VsId = { protocol: 'tcp', address: '10.2.2.18', port: 8080 };
const v6: VsId = { protocol: 'tcp', address: '2620::123', port: 443 };
const udp: VsId = { protocol: 'udp', address: '208.0.0.1', port: 123 };

t.test('virtual service commands', async (t) => {
  t.equal(renderCommand({ op: 'add-service', vs: v4, scheduler: 'wrr' }), '-A -t 10.2.2.18:8080 -s wrr');
  t.equal(renderCommand({ op: 'add-service', vs: udp, scheduler: 'rr' }), '-A -u 208.0.0.1:123 -s rr', 'UDP uses -u');
  t.equal(renderCommand({ op: 'add-service', vs: v6, scheduler: 'wrr' }), '-A -t [2620::123]:443 -s wrr', 'IPv6 is bracketed');
  t.equal(renderCommand({ op: 'edit-service', vs: v4, scheduler: 'sh' }), '-E -t 10.2.2.18:8080 -s sh', 'scheduler change is an edit');
  t.equal(renderCommand({ op: 'delete-service', vs: v6 }), '-D -t [2620::123]:443');
  t.equal(renderCommand({ op: 'delete-service', vs: udp }), '-D -u 208.0.0.1:123');
});

t.test('real server commands', async (t) => {
  const s = (address: string, weight: number, method: 'g' | 'i' | 'm' = 'g') => ({ address, port: v4.port, weight, method });
  t.equal(renderCommand({ op: 'add-server', vs: v4, server: s('10.64.0.1', 10) }), '-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 10');
  t.equal(renderCommand({ op: 'edit-server', vs: v4, server: s('10.64.0.1', 25) }), '-e -t 10.2.2.18:8080 -r 10.64.0.1 -w 25');
  t.equal(renderCommand({ op: 'delete-server', vs: v4, server: s('10.64.0.1', 25) }), '-d -t 10.2.2.18:8080 -r 10.64.0.1');
  t.equal(renderCommand({ op: 'edit-server', vs: v4, server: s('10.64.0.1', 0) }), '-e -t 10.2.2.18:8080 -r 10.64.0.1 -w 0',
    'weight 0 is written (PyBal drops it and ipvsadm then uses weight 1)');
  t.equal(renderCommand({ op: 'add-server', vs: v4, server: s('10.64.0.1', 0) }), '-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 0');
  t.equal(renderCommand({ op: 'add-server', vs: v4, server: s('10.64.0.1', 1, 'i') }), '-a -t 10.2.2.18:8080 -r 10.64.0.1 -i -w 1', 'tunnel');
  t.equal(renderCommand({ op: 'edit-server', vs: v4, server: s('10.64.0.1', 1, 'm') }), '-e -t 10.2.2.18:8080 -r 10.64.0.1 -m -w 1', 'masquerade');
  const v6s = { address: '2620::5', port: 443, weight: 3, method: 'g' as const };
  t.equal(renderCommand({ op: 'add-server', vs: v6, server: v6s }), '-a -t [2620::123]:443 -r 2620::5 -w 3',
    'IPv6 real server without port is written bare, as PyBal does');
  t.equal(renderCommand({ op: 'delete-server', vs: udp, server: { address: '10.0.0.7', port: 123 } }), '-d -u 208.0.0.1:123 -r 10.0.0.7');
  t.equal(renderCommand({ op: 'add-server', vs: v4, server: { address: '10.64.0.1', port: 9090, weight: 1, method: 'm' } }),
    '-a -t 10.2.2.18:8080 -r 10.64.0.1:9090 -m -w 1', 'a masqueraded port different from the service port is explicit');
});

t.test('restore text is one newline-terminated line per command', async (t) => {
  const cmds: IpvsCommand[] = [
    { op: 'add-service', vs: v4, scheduler: 'wrr' },
    { op: 'add-server', vs: v4, server: { address: '10.64.0.1', port: 8080, weight: 10, method: 'g' } },
  ];
  t.equal(renderRestore(cmds), '-A -t 10.2.2.18:8080 -s wrr\n-a -t 10.2.2.18:8080 -r 10.64.0.1 -w 10\n');
  t.equal(renderRestore([]), '');
});
