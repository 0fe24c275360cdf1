/**
 * A blob from one fulcrum to another on loopback, against a raw TCP copy of the same bytes.
 *
 * Two real `crux fulcrum` processes, A on `--ip`.1 and B on `--ip`.2 (a flock of two), each started
 * with the deploy files' Node options. The blob (1 GiB unless `--mib N` or PASTICHE_BENCH_MIB) is
 * generated once into a file and put into A's store (`put_mib_s`: upload, hashed, fsynced); then B
 * pulls it from A (`crux pastiche fetch`'s Fetch call): A streams it from its store over the flock's
 * mutual TLS, B verifies the hash as the bytes land and fsyncs before the blob is visible
 * (`fetch_mib_s`). Side by side, in the same run: a plain Node TCP copy of the same file from a
 * socket on `--ip`.1 to a file on the same disk, fsynced at the end (`raw_mib_s`), and `ratio`,
 * fetch / raw (target ≥ 0.8); `raw_hashed_mib_s` is the same copy with SHA-256 at the receiver, for
 * how much of the gap is the verification; `load_avg` the machine's at the end. Peak RSS (VmHWM) of
 * both fulcrums is reset before the pull, so `a_hwm_mb` and `b_hwm_mb` are the pull's alone;
 * `a_put_hwm_mb` is A's during the put. With `--runs N`, the figures are the best of each and
 * `run_ratios` each run's own fetch over its own raw copy; every timed phase starts after a `sync`.
 * Per run, `raw_cores` and `fetch_cores` are the cores the whole machine kept busy during the copy
 * and the pull, and `a_cpu_ms_per_mib` / `b_cpu_ms_per_mib` each fulcrum's CPU per MiB pulled.
 *
 *   npm run bench -- pastiche [--mib 1024] [--ip 127.78.67] [--runs 1]
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { createServer, connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { createPasticheClient } from '../actors/pastiche/client.js'
import { loadPeerTls } from '../runtime/grpc-tls.js'
import { generateSecret } from '../runtime/secret.js'
import { flag, stringFlag } from './flags.js'
import { generate, machineBusyS, MiB, r1, ready, startFulcrum, untilMember } from './lib/pastiche-fleet.js'

/** Writes every dirty page back (`sync`), so a timed phase does not pay for the one before. */
const settle = (): void => void spawnSync('sync')
import { procCpuS, statusKb } from './lib/proc.js'

const log = (s: string) => process.stderr.write(`[pastiche-bench] ${s}\n`)

/** Copies `file` through a loopback TCP connection into `to`, fsynced at the end (and hashed on arrival with `hash`); seconds. */
async function rawCopy(file: string, to: string, host: string, hash = false): Promise<number> {
  const fh = await open(to, 'w')
  const done = new Promise<void>((resolve, reject) => {
    const server = createServer((socket) => {
      const out = createWriteStream('', { fd: fh.fd, autoClose: false, highWaterMark: MiB })
      const h = createHash('sha256')
      if (hash) socket.on('data', (b: Buffer) => h.update(b))
      socket.pipe(out)
      out.on('finish', () => void fh.sync().then(() => (server.close(), resolve()), reject))
      socket.on('error', reject)
    })
    server.listen(0, host, () => {
      started = performance.now()
      const socket = connect({ host, port: (server.address() as AddressInfo).port })
      createReadStream(file, { highWaterMark: MiB }).pipe(socket)
    })
  })
  let started = 0
  await done
  const s = (performance.now() - started) / 1000
  await fh.close()
  return s
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const MIB = flag(args, '--mib', Number(process.env.PASTICHE_BENCH_MIB ?? 1024))
  const IP = stringFlag(args, '--ip', '127.78.67')
  const RUNS = flag(args, '--runs', 1)
  const dir = mkdtempSync(join(tmpdir(), 'crux-pastiche-bench-'))
  const children: ChildProcess[] = []
  try {
    const secretFile = join(dir, 'flock.secret')
    writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
    const file = join(dir, 'blob.bin')
    log(`generating ${MIB} MiB`)
    const hash = await generate(file, MIB)
    const dirs = [join(dir, 'a'), join(dir, 'b')]
    const [a, b] = [startFulcrum(IP, 1, secretFile, dirs[0]!), startFulcrum(IP, 2, secretFile, dirs[1]!)]
    children.push(a, b)
    // Each answers once its gRPC serves; B is let in by A once the flock lists it (trust.ts).
    const ca = await ready(() => createPasticheClient({ address: `${IP}.1:50059`, tls: loadPeerTls(dirs[0]!), timeoutMs: 600_000 }))
    const cb = await ready(() => createPasticheClient({ address: `${IP}.2:50059`, tls: loadPeerTls(dirs[1]!), timeoutMs: 600_000 }))
    const out: Record<string, unknown> = { mib: MIB }
    let t0 = performance.now()
    const put = await ca.put(createReadStream(file, { highWaterMark: MiB }), { hash, bytes: MIB * MiB })
    out.put_mib_s = r1(MIB / ((performance.now() - t0) / 1000))
    out.a_put_hwm_mb = r1(statusKb(a.pid!, 'VmHWM') / 1024)
    if (put.hash !== hash) throw new Error(`A stored ${put.hash}, ${hash} expected`)
    const fetch: number[] = []
    const raw: number[] = []
    const rawHashed: number[] = []
    // Cores the whole machine kept busy during each timed copy (2 on this machine is all of them), and
    // each fulcrum's CPU per MiB pulled: whether a pull is bound by CPU where the raw copy is not.
    const rawCores: number[] = []
    const fetchCores: number[] = []
    const aMsPerMib: number[] = []
    const bMsPerMib: number[] = []
    const cores = (busy0: number, since: number) => r1((machineBusyS() - busy0) / ((performance.now() - since) / 1000))
    for (let run = 0; run < RUNS; run++) {
      // Each timed phase starts with no dirty pages of the one before (the put's 1 GiB, a copy just
      // deleted): the kernel writing them back meanwhile would slow whichever phase came first.
      settle()
      let busy0 = machineBusyS()
      let since = performance.now()
      raw.push(MIB / (await rawCopy(file, join(dir, `raw-${run}.bin`), `${IP}.1`)))
      rawCores.push(cores(busy0, since))
      rmSync(join(dir, `raw-${run}.bin`))
      settle()
      rawHashed.push(MIB / (await rawCopy(file, join(dir, `raw-${run}.bin`), `${IP}.1`, true)))
      rmSync(join(dir, `raw-${run}.bin`))
      for (const p of [a, b]) writeFileSync(`/proc/${p.pid}/clear_refs`, '5') // resets VmHWM
      if (run > 0) await cb.gc()
      settle()
      t0 = await untilMember(cb, `${IP}.1:50059`)
      ;[busy0, since] = [machineBusyS(), t0]
      const [a0, b0] = [procCpuS(a.pid!), procCpuS(b.pid!)]
      const r = await cb.fetch(hash, `${IP}.1:50059`, 600_000)
      fetch.push(MIB / ((performance.now() - t0) / 1000))
      fetchCores.push(cores(busy0, since))
      aMsPerMib.push(r1(((procCpuS(a.pid!) - a0) * 1000) / MIB))
      bMsPerMib.push(r1(((procCpuS(b.pid!) - b0) * 1000) / MIB))
      if (r.bytes !== MIB * MiB || r.existed) throw new Error(`B's fetch answered ${JSON.stringify(r)}`)
      log(`run ${run}: fetch ${r1(fetch[run]!)} MiB/s (server ${r.ms} ms), raw ${r1(raw[run]!)} MiB/s`)
    }
    const best = (xs: number[]) => Math.max(...xs)
    out.fetch_mib_s = r1(best(fetch))
    out.raw_mib_s = r1(best(raw))
    out.ratio = Math.round((best(fetch) / best(raw)) * 100) / 100
    // Each run's own fetch over its own raw copy: how far the best-of figure is from every run.
    out.run_ratios = fetch.map((f, i) => Math.round((f / raw[i]!) * 100) / 100)
    out.raw_hashed_mib_s = r1(best(rawHashed))
    Object.assign(out, { raw_cores: rawCores, fetch_cores: fetchCores, a_cpu_ms_per_mib: aMsPerMib, b_cpu_ms_per_mib: bMsPerMib })
    out.load_avg = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
    out.a_hwm_mb = r1(statusKb(a.pid!, 'VmHWM') / 1024)
    out.b_hwm_mb = r1(statusKb(b.pid!, 'VmHWM') / 1024)
    out.runs = RUNS
    ca.close()
    cb.close()
    return out
  } finally {
    for (const c of children) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}
