/**
 * What the pastiche benchmarks share: real `crux fulcrum` processes started as the deploy files start
 * them, a blob of varied bytes, and the waits until a node serves and until a peer lets it in.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
import { createHash, type Hash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createPasticheClient, type PasticheClient } from '../../actors/pastiche/client.js'

const crux = fileURLToPath(new URL('../../bin/crux.bundle.mjs', import.meta.url))
/** The deploy unit's NODE_OPTIONS (deploy/systemd/crux-fulcrum.service), as node's own flags. */
const DEPLOY_NODE_OPTIONS = ['--max-semi-space-size=1']
export const MiB = 1 << 20
/** Rounded to one decimal. */
export const r1 = (n: number): number => Math.round(n * 10) / 10
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * `mib` MiB of varied bytes (not zeros: nothing on the way may compress them), a fresh 1 MiB buffer
 * at a time (a consumer may still hold the previous one), each fed to `h` first.
 */
export async function* blobChunks(mib: number, h?: Hash): AsyncGenerator<Buffer> {
  const chunk = Buffer.alloc(MiB)
  for (let i = 0; i < mib; i++) {
    for (let at = 0; at < MiB; at += 4) chunk.writeUInt32LE((Math.imul(i * MiB + at, 2654435761) ^ (at >>> 7)) >>> 0, at)
    h?.update(chunk)
    yield Buffer.from(chunk)
  }
}

/** Writes {@link blobChunks} to `file` once; its name. */
export async function generate(file: string, mib: number): Promise<string> {
  const out = createWriteStream(file)
  const h = createHash('sha256')
  for await (const chunk of blobChunks(mib, h)) if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()))
  await new Promise<void>((r) => out.end(() => r()))
  return `sha256:${h.digest('hex')}`
}

/**
 * A fulcrum at `${ip}.${n}` (flock port 23123, gRPC 50059, heartbeat 200 ms, a 64 GiB pastiche
 * bound), probing `probe`; its stderr (warnings and up) goes to ours.
 */
export function startFulcrum(ip: string, n: number, secretFile: string, dataDir: string, probe = `${ip}.0/29`, extra: string[] = []): ChildProcess {
  const args = [...DEPLOY_NODE_OPTIONS, crux, 'fulcrum', '--listen', `${ip}.${n}:23123`, '--probe', probe, '--secret-file', secretFile, '--data-dir', dataDir, '--heartbeat', '200', '--grpc', `${ip}.${n}:50059`, '--pastiche-limit', '64G', '--log-level', 'warn', ...extra]
  return spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] })
}

/** A client once its node answers (its data dir's certificates exist and its gRPC serves); throws after 30 s. */
export async function ready(make: () => PasticheClient): Promise<PasticheClient> {
  const end = Date.now() + 30_000
  for (;;) {
    try {
      const c = make()
      await c.ls()
      return c
    } catch (err) {
      if (Date.now() > end) throw err
      await sleep(100)
    }
  }
}

/** Waits until the node of `c` may read from the peer at `from` (the peer lists it as a member: a refused Has says not yet); returns now. */
export async function untilMember(c: PasticheClient, from: string): Promise<number> {
  const end = Date.now() + 30_000
  for (;;) {
    try {
      // A fetch of a blob nobody has is NOT_FOUND once the peer lets the node in, PERMISSION_DENIED before.
      await c.fetch(`sha256:${'0'.repeat(64)}`, from, 5_000)
    } catch (err) {
      if ((err as { code?: number }).code === 5) return performance.now()
      if (Date.now() > end) throw err
      await sleep(100)
    }
  }
}

/** Stops every process gracefully (SIGTERM: a fulcrum flushes its journal and checkpoints) and waits until all exited; throws after `boundMs`. */
export async function stopAll(procs: ChildProcess[], boundMs: number): Promise<void> {
  const exited = (p: ChildProcess) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r())))
  const all = Promise.all(procs.map((p) => (p.kill('SIGTERM'), exited(p))))
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`fulcrums still running ${boundMs} ms after SIGTERM`)), boundMs)))
  try {
    await Promise.race([all, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * CPU seconds the whole machine has been busy (all cores: /proc/stat's first line less idle and
 * iowait), so a phase can say how much of the machine went to other work than its own processes.
 */
export function machineBusyS(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = f.slice(0, 8).reduce((s, x) => s + x, 0)
  return (total - f[3]! - f[4]!) / 100
}
