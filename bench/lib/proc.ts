/**
 * What /proc says of a process the benchmarks started: its CPU time and its memory. One reading
 * here for every benchmark, so they all count the same way (utime + stime of all threads, in the
 * kernel's 10 ms ticks; kB fields of /proc/PID/status).
 */
import { readFileSync } from 'node:fs'

const CLK_TCK = 100

/** CPU seconds used so far by `pid` (user + system, all threads). */
export function procCpuS(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/** A kB field of /proc/PID/status (VmRSS, VmHWM…); 0 when absent. */
export function statusKb(pid: number, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
}
