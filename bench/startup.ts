/**
 * What one `crux fulcrum` costs to start: `--runs` fulcrums (default 10) started one at a time on
 * 127.77.60.K (probing 127.77.60.0/29, where nothing else listens), each measured from spawn to its
 * first `fulcrum started` log line, then left alone for `--settle-ms` (default 2000) and stopped.
 * - startup_cpu_s: utime + stime (/proc/PID/stat, 10 ms ticks) when `fulcrum started` was read;
 *   startup_cpu_ns_s: the same from every thread's /proc/PID/task/T/schedstat (ns resolution);
 * - ready_ms: wall time from spawn to that line;
 * - rss_mb: VmRSS after settling; rss_peak_mb: VmHWM; settled_cpu_s: CPU at that point;
 * - baseline: the CPU of `node -e 0` and of `crux version` (the CLI plus xstate and the machines),
 *   taken as the cutime + cstime of a shell that waited for them.
 * Medians over the runs. By default the fulcrums start as `crux demo` starts them (spawnFulcrum);
 * `--node-flags "F1 F2"` starts the same command with these Node/V8 flags instead, to try flags, and
 * `--cli FILE` runs another build of the CLI (a bundle, say) in place of dist/bin/crux.js; `--cli -`
 * runs none, for a startup snapshot given in the flags (`--snapshot-blob B`).
 *
 *   npm run bench -- startup [--runs N] [--settle-ms MS] [--node-flags "--max-semi-space-size=1 …"] [--cli FILE] [--fulcrum-args "--no-grpc …"]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnFulcrum } from '../actors/local/flock.js'
import { generateSecret } from '../runtime/secret.js'
import { flag } from './flags.js'
import { procCpuS, statusKb } from './lib/proc.js'

const CLK_TCK = 100
const cruxJs = fileURLToPath(new URL('../bin/crux.js', import.meta.url))
/** The flags spawnFulcrum gives, for runs that start the command themselves (`--cli` alone). */
const spawnFulcrumFlags = ['--max-semi-space-size=1']

/** CPU of every live thread in ns (threads that already exited are not counted). */
function procCpuNsS(pid: number): number {
  let ns = 0
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e9
}

/** CPU seconds a short command used: the cutime + cstime of a shell that ran and waited for it. */
function childCpuS(argv: string[]): number {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const r = spawnSync('/bin/sh', ['-c', `${quoted} >/dev/null 2>&1; cat /proc/$$/stat`], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`)
  const f = r.stdout.split(') ')[1]!.split(' ')
  return (Number(f[13]) + Number(f[14])) / CLK_TCK // cutime + cstime
}

/** `--cli -` runs no script: the node flags name one (`--snapshot-blob B` with its main function). */
const script = (cli: string): string[] => (cli === '-' ? [] : [cli])

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const r3 = (x: number): number => +x.toFixed(3)
const r1 = (x: number): number => +x.toFixed(1)

interface Sample {
  cpu: number
  cpuNs: number
  readyMs: number
  rssMb: number
  peakMb: number
  settledCpu: number
}

async function once(addr: string, dataDir: string, secretFile: string, nodeFlags: string[] | undefined, cli: string, settleMs: number, extra: string[]): Promise<Sample> {
  const args = ['--probe', '127.77.60.0/29', '--secret-file', secretFile, ...extra]
  const t0 = performance.now()
  const child: ChildProcess =
    nodeFlags === undefined && cli === cruxJs
      ? spawnFulcrum(addr, dataDir, args).child
      : spawn(process.execPath, [...(nodeFlags ?? spawnFulcrumFlags), ...script(cli), 'fulcrum', '--listen', addr, '--data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const pid = child.pid!
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  try {
    // Read the CPU the moment the line arrives: no polling delay, only the pipe's.
    const { cpu, cpuNs, readyMs } = await new Promise<{ cpu: number; cpuNs: number; readyMs: number }>((resolve, reject) => {
      let buf = ''
      let seen = false
      const timer = setTimeout(() => reject(new Error(`no 'fulcrum started' from ${addr} in 30 s: ${stderr.trim()}`)), 30_000)
      child.once('exit', (code) => reject(new Error(`fulcrum ${addr} exited (${code}) before it started: ${stderr.trim()}`)))
      child.stdout!.on('data', (d: Buffer) => {
        if (seen) return
        buf += d.toString()
        if (!/"msg":"(fulcrum started|flock)"/.test(buf)) return
        seen = true
        const readyMs = performance.now() - t0
        const cpu = procCpuS(pid)
        const cpuNs = procCpuNsS(pid)
        clearTimeout(timer)
        buf = ''
        resolve({ cpu, cpuNs, readyMs })
      })
    })
    await new Promise((r) => setTimeout(r, settleMs))
    return { cpu, cpuNs, readyMs, rssMb: statusKb(pid, 'VmRSS') / 1024, peakMb: statusKb(pid, 'VmHWM') / 1024, settledCpu: procCpuS(pid) }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const runs = flag(args, '--runs', 10)
  const settleMs = flag(args, '--settle-ms', 2000)
  const fi = args.indexOf('--node-flags')
  const nodeFlags = fi < 0 ? undefined : (args[fi + 1] ?? '').split(/\s+/).filter((s) => s !== '')
  const ai = args.indexOf('--fulcrum-args')
  const extra = ai < 0 ? [] : (args[ai + 1] ?? '').split(/\s+/).filter((x) => x !== '')
  const ci = args.indexOf('--cli')
  const cli = ci < 0 ? cruxJs : args[ci + 1] === '-' ? '-' : resolve(args[ci + 1] ?? '')
  const dir = mkdtempSync(join(tmpdir(), 'crux-startup-'))
  try {
    const secretFile = join(dir, 'flock.secret')
    writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
    const samples: Sample[] = []
    for (let i = 0; i < runs; i++) {
      // 127.77.60.1–6: the hosts of 127.77.60.0/29; each run has a fresh data dir (a first start).
      samples.push(await once(`127.77.60.${(i % 6) + 1}:23123`, join(dir, `n${i}`), secretFile, nodeFlags, cli, settleMs, extra))
    }
    const node0: number[] = []
    const version: number[] = []
    for (let i = 0; i < runs; i++) {
      node0.push(childCpuS([process.execPath, '-e', '0']))
      version.push(childCpuS([process.execPath, ...(nodeFlags ?? []), ...script(cli), 'version']))
    }
    const m = (pick: (s: Sample) => number) => median(samples.map(pick))
    return {
      runs,
      node_flags: nodeFlags ?? (cli === cruxJs ? 'spawnFulcrum' : spawnFulcrumFlags),
      cli: cli === cruxJs ? 'dist/bin/crux.js' : cli,
      startup_cpu_s: r3(m((s) => s.cpu)),
      startup_cpu_ns_s: r3(m((s) => s.cpuNs)),
      ready_ms: Math.round(m((s) => s.readyMs)),
      rss_mb: r1(m((s) => s.rssMb)),
      rss_peak_mb: r1(m((s) => s.peakMb)),
      settled_cpu_s: r3(m((s) => s.settledCpu)),
      settle_ms: settleMs,
      baseline_node_e0_cpu_s: r3(median(node0)),
      baseline_crux_version_cpu_s: r3(median(version)),
      startup_cpu_s_runs: samples.map((s) => r3(s.cpu)),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
