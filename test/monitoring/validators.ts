// Runs the real validators on generated monitoring config: `icinga2 daemon -C` and `nagios4 -v`.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Validation {
  code: number;
  output: string;
}

function run(cmd: string, args: string[]): Promise<Validation> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

export const ICINGA2 = '/usr/sbin/icinga2';
export const NAGIOS4 = '/usr/sbin/nagios4';
export const hasNagios4 = existsSync(NAGIOS4);

/** Every directory icinga2 would otherwise take from /var or /etc, pointed into `dir` (runs as any user). */
export function icinga2Defines(dir: string): string[] {
  const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'nobody');
  return [
    `-DDataDir=${dir}/lib`,
    `-DLogDir=${dir}/log`,
    `-DCacheDir=${dir}/cache`,
    `-DSpoolDir=${dir}/spool`,
    `-DInitRunDir=${dir}/run`,
    `-DStateDir=${dir}/lib`,
    `-DRunAsUser=${user}`,
    `-DRunAsGroup=${user}`,
  ];
}

export async function icinga2Dirs(dir: string): Promise<void> {
  for (const d of ['lib', 'log', 'cache', 'spool', 'run']) await mkdir(join(dir, d), { recursive: true });
}

/** Validates `objects` (generated Icinga 2 config) with the ITL and plugin command definitions loaded. */
export async function validateIcinga2(objects: string): Promise<Validation> {
  const dir = await mkdtemp(join(tmpdir(), 'poold-icinga2-'));
  try {
    await icinga2Dirs(dir);
    await writeFile(join(dir, 'poold.conf'), objects);
    await writeFile(
      join(dir, 'icinga2.conf'),
      ['const PluginDir = "/usr/lib/nagios/plugins"', 'include <itl>', 'include <plugins>', `include "${dir}/poold.conf"`, ''].join('\n'),
    );
    return await run(ICINGA2, ['daemon', '-C', '-c', join(dir, 'icinga2.conf'), ...icinga2Defines(dir)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Validates generated Nagios objects, plus the one timeperiod a deployment is expected to provide. */
export async function validateNagios(objects: string): Promise<Validation> {
  const dir = await mkdtemp(join(tmpdir(), 'poold-nagios-'));
  try {
    const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'nobody');
    await writeFile(join(dir, 'poold.cfg'), objects);
    await writeFile(
      join(dir, 'site.cfg'),
      [
        'define timeperiod {\n    timeperiod_name 24x7\n    alias always\n    monday 00:00-24:00\n}',
        'define command {\n    command_name notify-nobody\n    command_line /bin/true\n}',
        'define contact {\n    contact_name ops\n    host_notifications_enabled 0\n    service_notifications_enabled 0\n    host_notification_period 24x7\n    service_notification_period 24x7\n    host_notification_options n\n    service_notification_options n\n    host_notification_commands notify-nobody\n    service_notification_commands notify-nobody\n}',
        'define contactgroup {\n    contactgroup_name team-lang\n    members ops\n}',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'nagios.cfg'),
      [
        `cfg_file=${dir}/site.cfg`,
        `cfg_file=${dir}/poold.cfg`,
        `check_result_path=${dir}`,
        `lock_file=${dir}/nagios.lock`,
        `temp_file=${dir}/nagios.tmp`,
        `status_file=${dir}/status.dat`,
        `log_file=${dir}/nagios.log`,
        `nagios_user=${user}`,
        `nagios_group=${user}`,
        '',
      ].join('\n'),
    );
    return await run(NAGIOS4, ['-v', join(dir, 'nagios.cfg')]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
