// Public surface of the LVS layer, for the API (server lists), the CLI (`poolctl lvs ...`) and the daemon.
export { renderServerList } from './serverlist.js';
export { renderCommand, renderRestore, type IpvsCommand } from './render.js';
export { parseList, parseSave } from './parse.js';
export { diffTables, tableDifferences } from './diff.js';
export { buildDesired, emptiedByAdmins, vsOfDef, type DesiredTable, type ServiceInput, type SkippedService } from './desired.js';
export { applyAndVerify, applyCommands, readTable, runIpvsadm, DEFAULT_IPVSADM_PATH, type IpvsadmOptions } from './apply.js';
export { IpvsadmError, IpvsParseError, LvsInputError, LvsVerifyError } from './errors.js';
export type { IpvsTable, RealServer, VirtualService, VsId } from './table.js';
export type { AgentHandle, AgentOptions, AgentSourceConfig, AgentStatus } from './agent.js';
export type { ReconcileReport, ServiceStatus } from './agent-reconciler.js';
