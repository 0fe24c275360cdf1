/**
 * `crux beacon`, `crux beacon stop`, `crux watch`, `crux dump` (CLI.md, Monitoring): where MonInfo
 * records go, and what is made of them.
 */
import type { Command } from 'commander'
import { systemProbe } from '../../actors/fulcrum/data-dir-lock.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { durationOption, formatDuration, hostPort, int, target } from '../flags.js'

const DEFAULT_BEACON = '127.0.0.1:28351'

/** Where `crux beacon` keeps the pid of the beacon listening at `listen`, for `crux beacon stop`. */
async function pidFile(listen: string): Promise<string> {
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  return join(tmpdir(), `crux-beacon-${listen.replace(/[^A-Za-z0-9.]/g, '_')}.pid`)
}

/** Whether `pid` runs: the same check the data dir lock uses for its owner. */
const alive = (pid: number): boolean => systemProbe.alive(pid)

interface BeaconFlags {
  listen: { host: string; port: number }
  secretFile?: string
  out: string
  foreground?: boolean
  json?: boolean
}

async function runForeground(f: BeaconFlags, secretFile: string): Promise<void> {
  const { readFileSync, writeFileSync, rmSync } = await import('node:fs')
  const { readSecretFile } = await import('../../runtime/secret.js')
  const { createUdpTransport } = await import('../../runtime/udp-transport.js')
  const { RealClock } = await import('../../runtime/clock.js')
  const { createBeacon } = await import('../../actors/monitor/beacon.js')
  const secret = readSecretFile(secretFile)
  const listen = `${f.listen.host}:${f.listen.port}`
  const pidPath = await pidFile(listen)
  let old: number | undefined
  try {
    old = Number(readFileSync(pidPath, 'utf8').trim())
  } catch {
    old = undefined
  }
  if (old !== undefined && Number.isSafeInteger(old) && old > 0 && old !== process.pid && alive(old)) throw new InvalidArgumentError(`a beacon (pid ${old}) already listens at ${listen}; stop it with: crux beacon stop --listen ${listen}`)
  const udp = await createUdpTransport({ host: f.listen.host, port: f.listen.port })
  const beacon = createBeacon({ transport: udp, clock: new RealClock() }, { secret, out: f.out })
  writeFileSync(pidPath, `${process.pid}\n`)
  const log = (msg: string, fields: Record<string, unknown>) => process.stderr.write(JSON.stringify({ time: Date.now(), msg, ...fields }) + '\n')
  process.stdout.write(f.json === true ? JSON.stringify({ address: beacon.address, pid: process.pid, out: f.out }) + '\n' : `${beacon.address}\n`)
  log('beacon started', { address: beacon.address, out: f.out, pid: process.pid })
  // A line of counts every 10 s while anything arrives, so a log shows what it has been given.
  let lastSeen = -1
  const every = setInterval(() => {
    if (beacon.stats.datagrams !== lastSeen) log('beacon', { ...beacon.stats })
    lastSeen = beacon.stats.datagrams
  }, 10_000)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
  })
  clearInterval(every)
  await beacon.close()
  rmSync(pidPath, { force: true })
  log('beacon stopped', { ...beacon.stats })
}

/** Starts `crux beacon --foreground …` detached, prints what it prints first, and leaves it running. */
async function runBackground(f: BeaconFlags, secretFile: string): Promise<void> {
  const { spawn } = await import('node:child_process')
  const { openSync, readFileSync } = await import('node:fs')
  const logPath = `${f.out}.log`
  const logFd = openSync(logPath, 'a')
  const args = [...process.execArgv, process.argv[1]!, 'beacon', '--foreground', '--listen', `${f.listen.host}:${f.listen.port}`, '--secret-file', secretFile, '--out', f.out, ...(f.json === true ? ['--json'] : [])]
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', logFd] })
  const first = await new Promise<string>((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`the beacon did not start within 10 s (see ${logPath})`)), 10_000)
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        resolve(buf.slice(0, nl + 1))
      }
    })
    child.once('exit', () => {
      clearTimeout(timer)
      const tail = readFileSync(logPath, 'utf8').trim().split('\n').at(-1) ?? ''
      reject(new InvalidArgumentError(tail.replace(/^crux: /, '') || `the beacon exited (see ${logPath})`))
    })
  })
  child.stdout!.destroy()
  child.unref()
  process.stdout.write(first)
}

export function registerMonitor(program: Command): void {
  const beacon = program
    .command('beacon')
    .description('receive MonInfo from fulcrums (their --beacon), append it to an NDJSON file and forward it to watchers; runs in the background unless --foreground')
    .option('--listen <HOST:PORT>', 'UDP address to bind', hostPort('--listen', true), { host: '127.0.0.1', port: 28351 })
    // Not requiredOption: commander would then demand it of `crux beacon stop` too.
    .option('--secret-file <F>', 'the flock secret (required)')
    .option('--out <FILE>', 'NDJSON file records are appended to; the background beacon logs to FILE.log', 'crux-beacon.ndjson')
    .option('--foreground', 'stay in the foreground (logs NDJSON on stderr; SIGTERM/SIGINT stop it)')
    .option('--json', 'print {"address","pid","out"} instead of the address')
    .addHelpText('after', '\nExamples:\n  crux beacon --secret-file flock.secret --out mon.ndjson\n  crux fulcrum … --beacon 127.0.0.1:28351\n  crux beacon stop')
    .action(async (f: BeaconFlags) => {
      if (f.secretFile === undefined) throw new InvalidArgumentError("required option '--secret-file <F>' not specified")
      return f.foreground === true ? runForeground(f, f.secretFile) : runBackground(f, f.secretFile)
    })
  beacon
    .command('stop')
    .description('stop the background beacon listening at --listen (the option of crux beacon, default 127.0.0.1:28351), and wait until it has flushed its file')
    .addHelpText('after', '\nExample:\n  crux beacon stop --listen 127.0.0.1:28351')
    .action(async (_f: unknown, cmd: Command) => {
      const { readFileSync, rmSync } = await import('node:fs')
      // --listen belongs to `crux beacon`: commander parses a parent's options wherever they appear.
      const l = (cmd.parent!.opts() as { listen: { host: string; port: number } }).listen
      const listen = `${l.host}:${l.port}`
      const path = await pidFile(listen)
      let pid: number
      try {
        pid = Number(readFileSync(path, 'utf8').trim())
      } catch {
        throw new InvalidArgumentError(`no beacon is known to listen at ${listen} (no ${path})`)
      }
      if (!Number.isSafeInteger(pid) || pid <= 0 || !alive(pid)) {
        rmSync(path, { force: true })
        throw new InvalidArgumentError(`the beacon at ${listen} is not running (stale ${path} removed)`)
      }
      process.kill(pid, 'SIGTERM')
      for (const deadline = Date.now() + 10_000; alive(pid); await new Promise((r) => setTimeout(r, 50))) {
        if (Date.now() > deadline) throw new Error(`the beacon (pid ${pid}) did not stop within 10 s`)
      }
      process.stdout.write(`stopped the beacon at ${listen} (pid ${pid})\n`)
    })

  program
    .command('watch')
    .description('print the flocks as the status analyser judges them from what a beacon receives (stable: same leader and size for --stable seconds, no reboot in progress), and the service events of the flock (restarts, failures, upgrades) as they arrive')
    .option('--beacon <HOST:PORT>', 'the beacon', target('--beacon'), DEFAULT_BEACON)
    .requiredOption('--secret-file <F>', 'the flock secret')
    .addOption(durationOption('--stable <S>', 'how long a flock must keep its leader and size: seconds, or a duration such as 500ms, 2m', { bare: 's', min: 100, max: 86_400_000 }, 15_000))
    .option('--expect <N>', 'exit 0 once there is exactly one flock, stable, of N nodes', int('--expect', 1, 1_000_000))
    .addOption(durationOption('--timeout <DURATION>', 'give up (exit 1) when no beacon has forwarded a record by then, or, with --expect, when that flock is not there by then; with a unit: 500ms, 30s, 5m', { bare: 'refuse', min: 100, max: 86_400_000 }, 30_000))
    .option('--json', 'print each judgement as one JSON line: {"at","flocks":[{"flock","leader","nodes","since","stable"}],"rebooting":[…]}; and each service event (a restart, a failure, an upgrade) as {"at","service":{"op","node","name","restarts","cause"}}')
    .addHelpText('after', '\nExample:\n  crux watch --beacon 127.0.0.1:28351 --secret-file flock.secret --stable 5 --expect 5 --timeout 60s')
    .action(async (f: { beacon: string; secretFile: string; stable: number; expect?: number; timeout: number; json?: boolean }) => {
      const { readSecretFile } = await import('../../runtime/secret.js')
      const { startWatch } = await import('../../actors/monitor/watcher.js')
      const { SERVICE_OPS } = await import('../../machines/status/types.js')
      const { formatStatus } = await import('./monitor-format.js')
      const secret = readSecretFile(f.secretFile)
      let done: (code: number) => void = () => {}
      const finished = new Promise<number>((resolve) => (done = resolve))
      const watch = await startWatch({
        beacon: f.beacon,
        secret,
        stableMs: f.stable,
        // A node's services as they restart, fail and are upgraded (picket's records), as they come.
        onRecord(m) {
          if (!SERVICE_OPS.has(m.op)) return
          const event = { op: m.op, node: m.node, name: m.service ?? '', restarts: m.n, cause: m.cause }
          process.stdout.write(f.json === true ? JSON.stringify({ at: Date.now(), service: event }) + '\n' : `service ${event.name} on ${event.node}: ${m.op}${m.op === 'ServiceRestart' ? ` #${m.n}` : ''}${m.cause === '' ? '' : ` (${m.cause})`}\n`)
        },
        onStatus(view) {
          process.stdout.write(f.json === true ? JSON.stringify(view) + '\n' : formatStatus(view) + '\n')
          const [only] = view.flocks
          if (f.expect !== undefined && view.flocks.length === 1 && only!.stable && only!.nodes === f.expect) done(0)
        },
      })
      // Without --expect a watch runs until stopped, once a beacon has forwarded something: the
      // timeout then only catches a beacon that never answers (UDP says nothing when none listens).
      const timer = setTimeout(() => {
        const records = watch.records()
        if (records === 0) process.stderr.write(`crux: no beacon answered at ${f.beacon} within ${formatDuration(f.timeout)} (no MonInfo record arrived: is a beacon running there, with this secret, and fulcrums reporting to it?)\n`)
        else if (f.expect !== undefined) process.stderr.write(`crux: no single stable flock of ${f.expect} within ${formatDuration(f.timeout)} (${records} records from ${f.beacon})\n`)
        else return
        done(1)
      }, f.timeout)
      process.once('SIGINT', () => done(0))
      process.once('SIGTERM', () => done(0))
      const code = await finished
      clearTimeout(timer)
      await watch.close()
      process.exitCode = code
    })

  program
    .command('dump')
    .description("a fulcrum sends its MonInfo ring buffer (its last --ring records) to --to, e.g. a beacon")
    .requiredOption('--target <HOST:PORT>', 'the fulcrum', target('--target'))
    .requiredOption('--to <HOST:PORT>', 'where it sends the records', target('--to'))
    .requiredOption('--secret-file <F>', 'the flock secret')
    .addOption(durationOption('--timeout <DURATION>', 'how long to wait for its answer, with a unit: 500ms, 5s', { bare: 'refuse', min: 100, max: 120_000 }, 3000))
    .option('--json', 'print {"node","to","ok"}')
    .addHelpText('after', '\nExample:\n  crux dump --target 127.77.0.1:23123 --to 127.0.0.1:28351 --secret-file flock.secret')
    .action(async (f: { target: string; to: string; secretFile: string; timeout: number; json?: boolean }) => {
      const { readSecretFile } = await import('../../runtime/secret.js')
      const { confab } = await import('../../actors/flock/confab-client.js')
      const [a] = await confab({ target: f.target, secret: readSecretFile(f.secretFile), ask: 'dump', introduce: f.to, timeoutMs: f.timeout })
      if (!a!.ok) throw new Error(`${f.target} refused the dump`)
      process.stdout.write(f.json === true ? JSON.stringify({ node: a!.node, to: f.to, ok: true }) + '\n' : `${a!.node} sends its ring buffer to ${f.to}\n`)
    })
}
