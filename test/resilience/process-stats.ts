/**
 * What the operating system says about a controller process: its PID (found by the unique
 * `--http-address` it was started with) and its memory, from /proc.
 */
import { readFileSync } from 'node:fs';
import { run } from '../support/processes.js';
import type { RunningController } from '../support/supply-chain-system.js';

/** The PID of the node process serving `controller.url`. */
export async function controllerPid(controller: RunningController): Promise<number> {
  const address = new URL(controller.url).host;
  const table = await run('ps', ['-eo', 'pid=,args=']);
  const pids = table
    .split('\n')
    .filter((line) => line.includes('image-controller.js') && line.includes(`--http-address ${address}`))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
  if (pids.length !== 1) throw new Error(`expected one controller process serving ${address}, found ${pids.length}`);
  return pids[0]!;
}

/** Peak and current resident memory of `pid`, in bytes (VmHWM and VmRSS). */
export function residentMemory(pid: number): { peak: number; current: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { peak: kib('VmHWM'), current: kib('VmRSS') };
}
