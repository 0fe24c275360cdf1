/**
 * `crux demo` (what `npm start` runs): a local flock of real fulcrums on loopback addresses with the
 * same port, like hosts on a LAN, reporting to a beacon in this process, with the visualiser following
 * that beacon live. Prints the visualiser's URL and, once they agree, the member table; Ctrl-C stops
 * them all (each leaves gracefully) and removes the temporary data dirs.
 */
import type { Command } from 'commander'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addIp, agreedOn, coveringCidr, spawnFulcrum, type FulcrumProcess } from '../../actors/local/flock.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { generateSecret } from '../../runtime/secret.js'
import { durationOption, formatDuration, int } from '../flags.js'
import { startDemoServices, type DemoService } from './demo-services.js'

interface Flags {
  nodes: number
  base: string
  port: number
  heartbeat: number
  timeout: number
  exitWhenAgreed?: boolean
  json?: boolean
  vizPort: number
  viz: boolean
  services: boolean
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run a local flock of real fulcrums on loopback (127.77.0.x), print the member table once they agree; Ctrl-C stops them')
    .option('--nodes <N>', 'fulcrums to start', int('--nodes', 1, 200), 5)
    .option('--base <IP>', 'address of the first; the others follow it', '127.77.0.1')
    .option('--port <PORT>', 'the UDP port all of them use', int('--port', 1, 65535), 23123)
    .addOption(durationOption('--heartbeat <MS>', 'heartbeat period: milliseconds, or a duration such as 250ms, 1s', { bare: 'ms', min: 50, max: 60_000 }, 500))
    .addOption(durationOption('--timeout <DURATION>', 'give up if they have not agreed by then, with a unit: 90s, 2m', { bare: 'refuse', min: 1000, max: 3_600_000 }, 60_000))
    .option('--exit-when-agreed', 'stop them and exit 0 once the table is printed')
    .option('--viz-port <PORT>', 'serve the live visualiser on 127.0.0.1:PORT (0: any free port)', int('--viz-port', 0, 65535), 8080)
    .option('--no-viz', 'no beacon and no visualiser')
    .option('--no-services', 'start no example services (by default the HTTP echo and the gRPC relay of examples/ run on the first two nodes)')
    .option('--json', 'print the table as {"flock","leader","members":[{"id","addr","leader"}],"services":[{"name","node","address"}]}')
    .addHelpText('after', '\nExample:\n  crux demo --nodes 7 --heartbeat 250')
    .action(async (f: Flags) => {
      if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(f.base)) throw new InvalidArgumentError(`--base must be a loopback address 127.x.y.z, got ${JSON.stringify(f.base)}`)
      const dir = mkdtempSync(join(tmpdir(), 'crux-demo-'))
      const secretFile = join(dir, 'flock.secret')
      writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
      const probe = coveringCidr(f.base, f.nodes)
      const nodes: FulcrumProcess[] = []
      const started = Date.now()
      const watching = f.viz ? await startWatching(f, dir, secretFile) : undefined
      let stopping: Promise<void> | null = null
      const stop = (): Promise<void> =>
        (stopping ??= (async () => {
          for (const n of nodes) n.child.kill('SIGTERM')
          await Promise.all(nodes.map((n) => n.exited))
          await watching?.close()
          rmSync(dir, { recursive: true, force: true })
        })())
      process.once('SIGINT', () => void stop().then(() => process.exit(0)))
      process.once('SIGTERM', () => void stop().then(() => process.exit(0)))
      for (let i = 0; i < f.nodes; i++) {
        const addr = `${addIp(f.base, i)}:${f.port}`
        const beacon = watching === undefined ? [] : ['--beacon', watching.beacon]
        nodes.push(spawnFulcrum(addr, join(dir, `n${i + 1}`), ['--probe', probe, '--secret-file', secretFile, '--heartbeat', String(f.heartbeat), ...beacon]))
      }
      if (f.json !== true) {
        process.stderr.write(`crux demo: ${f.nodes} fulcrums on ${probe} port ${f.port}, heartbeat ${formatDuration(f.heartbeat)}; waiting for them to agree…\n`)
        if (watching?.url !== undefined) process.stdout.write(`visualiser: ${watching.url}\n`)
      }
      const deadline = started + f.timeout
      while (!agreedOn(nodes, f.nodes)) {
        const dead = nodes.find((n) => n.child.exitCode !== null)
        if (dead !== undefined || Date.now() > deadline) {
          await stop()
          const why = dead !== undefined ? `fulcrum ${dead.addr} exited (${String(dead.lines.find((l) => l.msg === 'stderr')?.text ?? '').trim().split('\n')[0]})` : `no agreement within ${formatDuration(f.timeout)}`
          throw new Error(why)
        }
        await new Promise((r) => setTimeout(r, 100))
      }
      const views = nodes.map((n) => n.view()!)
      const leader = views[0]!.leader
      const agreedS = (Date.now() - started) / 1000
      // The examples run once the flock stands; a failure costs the services, not the demo.
      let services: DemoService[] = []
      if (f.services !== false) {
        try {
          services = await startDemoServices(nodes, 30_000)
        } catch (err) {
          process.stderr.write(`crux demo: no example services (${err instanceof Error ? err.message : String(err)})\n`)
        }
      }
      const table = { flock: views[0]!.flock, leader, members: views.map((v, i) => ({ id: v.node, addr: nodes[i]!.addr, leader: v.node === leader })), services, viz: watching?.url ?? null, beacon: watching?.beacon ?? null }
      if (f.json === true) process.stdout.write(JSON.stringify(table) + '\n')
      else {
        process.stdout.write(`flock ${table.flock}: ${f.nodes} members, agreed in ${agreedS.toFixed(1)} s\n`)
        for (const m of table.members) process.stdout.write(`  ${m.leader ? '*' : ' '} ${m.id.padEnd(18)} ${m.addr}\n`)
        for (const s of services) process.stdout.write(`service ${s.name} (${s.protocol === 'grpc' ? 'gRPC' : 'HTTP'}) on ${s.node} at ${s.address}\n    ${s.call}\n`)
        if (f.exitWhenAgreed !== true) process.stdout.write('(* leader) Ctrl-C stops them all.\n')
      }
      if (f.exitWhenAgreed === true) await stop()
      else await new Promise<void>(() => {}) // until a signal ends us
    })
}

/**
 * The demo's beacon (in this process, on the first node's address at port 28351) and the live
 * visualiser following it. A visualiser port that is taken only costs the visualiser, not the demo.
 */
async function startWatching(f: Flags, dir: string, secretFile: string): Promise<{ beacon: string; url?: string; close(): Promise<void> }> {
  const { createBeacon } = await import('../../actors/monitor/beacon.js')
  const { createUdpTransport } = await import('../../runtime/udp-transport.js')
  const { RealClock } = await import('../../runtime/clock.js')
  const { readSecretFile } = await import('../../runtime/secret.js')
  const secret = readSecretFile(secretFile)
  const beacon = createBeacon({ transport: await createUdpTransport({ host: f.base, port: 28351 }), clock: new RealClock() }, { secret, out: join(dir, 'moninfo.ndjson') })
  let viz: { url: string; close(): Promise<void> } | undefined
  try {
    const { startVizServer } = await import('../../actors/viz/server.js')
    // The page asks the fulcrums themselves (Confab) where each stands: members of a settled flock
    // send the beacon nothing.
    const ask = Array.from({ length: f.nodes }, (_, i) => `${addIp(f.base, i)}:${f.port}`)
    viz = await startVizServer({ host: '127.0.0.1', port: f.vizPort, beacon: { address: beacon.address, secret, stableMs: 5_000, ask } })
  } catch (err) {
    process.stderr.write(`crux demo: no visualiser (${err instanceof Error ? err.message : String(err)})\n`)
  }
  return {
    beacon: beacon.address,
    ...(viz === undefined ? {} : { url: viz.url }),
    async close() {
      await viz?.close()
      await beacon.close()
    },
  }
}
