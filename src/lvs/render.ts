// ipvsadm restore lines (`ipvsadm -R` input) in PyBal's spelling (pybal/ipvs.py), with one
// deliberate difference: the weight is always written, so weight 0 reaches the kernel as `-w 0`
// (drain). PyBal omits `-w` when the weight is 0, and ipvsadm then applies its default weight 1.
// The forwarding method is omitted for `g` (ipvsadm's default, and what PyBal relies on) and
// written as `-i` / `-m` otherwise.
import type { LvsMethod } from '../model/types.js';
import { addrPort, type RealServer, type VsId } from './table.js';

export type IpvsCommand =
  | { op: 'add-service'; vs: VsId; scheduler: string }
  | { op: 'edit-service'; vs: VsId; scheduler: string }
  | { op: 'delete-service'; vs: VsId }
  | { op: 'add-server'; vs: VsId; server: RealServer }
  | { op: 'edit-server'; vs: VsId; server: RealServer }
  | { op: 'delete-server'; vs: VsId; server: Pick<RealServer, 'address' | 'port'> };

const PROTOCOL_SWITCH = { tcp: '-t', udp: '-u', sctp: '--sctp-service', fwm: '-f' } as const;

/** `-t 10.0.0.1:80`, `-u [2620::1]:53`. */
export function serviceArg(vs: VsId): string {
  if (vs.protocol === 'fwm') return `-f ${vs.address}`;
  return `${PROTOCOL_SWITCH[vs.protocol]} ${addrPort(vs.address, vs.port)}`;
}

function methodArg(method: LvsMethod): string {
  return method === 'g' ? '' : ` -${method}`;
}

/**
 * `-r IP` without a port, as PyBal writes it: for direct routing and tunnelling ipvsadm forces the
 * service port anyway, and for masquerading it defaults to the service port. A server whose port
 * differs from the service port (only possible with `-m`, never produced by us) gets an explicit port.
 */
function serverArg(vs: VsId, server: Pick<RealServer, 'address' | 'port'>): string {
  return server.port === vs.port ? `-r ${server.address}` : `-r ${addrPort(server.address, server.port)}`;
}

export function renderCommand(cmd: IpvsCommand): string {
  switch (cmd.op) {
    case 'add-service':
      return `-A ${serviceArg(cmd.vs)} -s ${cmd.scheduler}`;
    case 'edit-service':
      return `-E ${serviceArg(cmd.vs)} -s ${cmd.scheduler}`;
    case 'delete-service':
      return `-D ${serviceArg(cmd.vs)}`;
    case 'add-server':
      return `-a ${serviceArg(cmd.vs)} ${serverArg(cmd.vs, cmd.server)}${methodArg(cmd.server.method)} -w ${cmd.server.weight}`;
    case 'edit-server':
      return `-e ${serviceArg(cmd.vs)} ${serverArg(cmd.vs, cmd.server)}${methodArg(cmd.server.method)} -w ${cmd.server.weight}`;
    case 'delete-server':
      return `-d ${serviceArg(cmd.vs)} ${serverArg(cmd.vs, cmd.server)}`;
  }
}

/** The stdin of `ipvsadm -R`: one command per line, newline-terminated. */
export function renderRestore(cmds: readonly IpvsCommand[]): string {
  return cmds.map((c) => `${renderCommand(c)}\n`).join('');
}
