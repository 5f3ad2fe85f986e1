// `poolctl monitoring render --format icinga2|nagios`: one entry point for both syntaxes.
import { UsageError } from '../model/errors.js';
import type { ServiceDef } from '../model/types.js';
import { renderIcinga2 } from './icinga2.js';
import type { MonitoringOptions } from './monitoring-plan.js';
import { renderNagios } from './nagios.js';

export const MONITORING_FORMATS = ['icinga2', 'nagios'] as const;

export function renderMonitoring(services: ServiceDef[], format: string, opts: MonitoringOptions): string {
  if (format === 'icinga2') return renderIcinga2(services, opts);
  if (format === 'nagios') return renderNagios(services, opts);
  throw new UsageError(`unknown monitoring format ${JSON.stringify(format)}: use ${MONITORING_FORMATS.join(' or ')}`, { format });
}
