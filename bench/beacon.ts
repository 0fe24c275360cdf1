/**
 * Beacon ingest: a `crux beacon --foreground` process receives MonInfo batches (12 records each,
 * sealed under the secret, as fulcrums send them) at rising rates for `--seconds` each; a rate counts
 * as lossless when every record sent was filed. Reports the highest lossless rate in records/s and
 * the beacon's CPU at it.
 *
 *   npm run bench -- beacon [--seconds S] [--max RATE]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MonRecord } from '../machines/status/types.js'
import { encodeMonitor } from '../actors/monitor/codec.js'
import { createSealedTransport } from '../runtime/sealed-transport.js'
import { generateSecret } from '../runtime/secret.js'
import { ENVELOPE_TYPE } from '../runtime/secondary-channel.js'
import { createUdpTransport } from '../runtime/udp-transport.js'
import { flag } from './flags.js'
import { procCpuS } from './lib/proc.js'

const crux = fileURLToPath(new URL('../bin/crux.js', import.meta.url))
const ADDR = '127.77.63.1:28351'
const PER_BATCH = 12
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').length - 1

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const seconds = flag(args, '--seconds', 2)
  const max = flag(args, '--max', 320_000)
  const dir = mkdtempSync(join(tmpdir(), 'crux-bench-beacon-'))
  const secretFile = join(dir, 'secret')
  writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
  const secret = new Uint8Array(Buffer.from(readFileSync(secretFile, 'utf8').trim(), 'base64'))
  const out = join(dir, 'mon.ndjson')
  const child = spawn(process.execPath, [crux, 'beacon', '--foreground', '--listen', ADDR, '--secret-file', secretFile, '--out', out], { stdio: ['ignore', 'pipe', 'ignore'] })
  const sender = createSealedTransport({ transport: await createUdpTransport({ host: '127.77.63.2', port: 0 }) }, { secret, keyId: 9, startCounter: 0, type: ENVELOPE_TYPE.monitor })
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve())
      child.once('exit', (code) => reject(new Error(`the beacon exited (${code})`)))
    })
    const rec = (i: number): MonRecord => ({ op: 'LeaderHeart', node: `n${(i % 100).toString(16).padStart(16, '0')}`, flock: '_flockName_01', leader: 'n0000000000000000', n: 99, oflock: '', t: 1_795_000_000_000 + i, cause: 'heartbeat' })
    const batch = encodeMonitor({ type: 'batch', events: Array.from({ length: PER_BATCH }, (_, i) => rec(i)), index: 0, count: 1, dump: false })
    const runs: Array<{ rate: number; sent: number; filed: number; cpu_pct: number }> = []
    let filedBefore = 0
    for (let rate = 5_000; rate <= max; rate *= 2) {
      const batches = Math.round((rate * seconds) / PER_BATCH)
      const c0 = procCpuS(child.pid!)
      const start = performance.now()
      // Paced in 10 ms slices, as many fulcrums would send: not one burst.
      for (let sent = 0; sent < batches; ) {
        const due = Math.min(batches, Math.round(((performance.now() - start) / 1000 / seconds) * batches) + 1)
        for (; sent < due; sent++) sender.send(ADDR, batch)
        await new Promise((r) => setTimeout(r, 10))
      }
      await new Promise((r) => setTimeout(r, 500)) // let the last datagrams land and the file catch up
      const filed = lines(out) - filedBefore
      filedBefore += filed
      runs.push({ rate, sent: batches * PER_BATCH, filed, cpu_pct: Math.round(((procCpuS(child.pid!) - c0) / (seconds + 0.5)) * 100) })
      if (filed < batches * PER_BATCH) break
    }
    const lossless = runs.filter((r) => r.filed >= r.sent)
    const best = lossless.at(-1)
    return { records_per_batch: PER_BATCH, seconds_per_rate: seconds, lossless_records_per_s: best?.rate ?? 0, beacon_cpu_pct_at_best: best?.cpu_pct ?? null, runs }
  } finally {
    await sender.close()
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    rmSync(dir, { recursive: true, force: true })
  }
}
