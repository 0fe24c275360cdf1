/**
 * The beacon (seed 000, original-crux.md §2.3): one UDP endpoint that receives MonInfo batches sealed
 * under the flock secret, appends each record to an NDJSON file with the time it arrived and the
 * address it came from, and forwards every batch to the watchers (`crux watch`) that asked within
 * the last 10 s. Whatever does not open or decode is dropped and counted by reason; nothing a sender
 * does can stop it.
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import type { Clock } from '../../runtime/clock.js'
import { decodeMonitor } from './codec.js'
import { ENVELOPE_TYPE, SecondaryChannel, type ChannelDropReason } from '../../runtime/secondary-channel.js'
import type { Transport } from '../../runtime/transport.js'

/** How long a watch request holds; `crux watch` renews it every 3 s. */
export const WATCH_HOLD_MS = 10_000

export interface BeaconStats {
  datagrams: number
  records: number
  batches: number
  watchers: number
  forwarded: number
  dropped: Record<ChannelDropReason | 'type' | 'decode', number>
}

export interface Beacon {
  readonly address: string
  readonly stats: BeaconStats
  /** Stops receiving and flushes the NDJSON file. */
  close(): Promise<void>
}

export interface BeaconInit {
  secret: Uint8Array
  /** The NDJSON file records are appended to. */
  out: string
}

/** Starts a beacon on `transport` (a bound UDP endpoint). */
export function createBeacon(components: { transport: Transport; clock: Clock }, init: BeaconInit): Beacon {
  const { transport, clock } = components
  const rand = crypto.getRandomValues(new Uint32Array(1))[0]!
  const channel = new SecondaryChannel({ secret: init.secret, keyId: rand, startCounter: Math.floor(clock.now() / 1000) * 2 ** 21, clock })
  const file: WriteStream = createWriteStream(init.out, { flags: 'a' })
  const watchers = new Map<string, number>()
  const stats: BeaconStats = {
    datagrams: 0,
    records: 0,
    batches: 0,
    watchers: 0,
    forwarded: 0,
    dropped: { size: 0, version: 0, 'unknown-key': 0, 'key-budget': 0, tag: 0, replay: 0, stale: 0, type: 0, decode: 0 },
  }
  let closed = false

  transport.onReceive((bytes, from) => {
    if (closed) return
    stats.datagrams++
    const r = channel.open(bytes, from)
    if (!r.ok) return void stats.dropped[r.reason]++
    if (r.type !== ENVELOPE_TYPE.monitor) return void stats.dropped.type++
    let p
    try {
      p = decodeMonitor(r.plaintext)
    } catch {
      return void stats.dropped.decode++
    }
    const now = clock.now()
    if (p.type === 'watch') {
      if (!watchers.has(from)) stats.watchers++
      watchers.set(from, now + WATCH_HOLD_MS)
      return
    }
    stats.batches++
    let lines = ''
    for (const m of p.events) lines += JSON.stringify(p.dump ? { at: now, from, dump: true, ...m } : { at: now, from, ...m }) + '\n'
    stats.records += p.events.length
    file.write(lines)
    if (p.dump) return // old records: filed, but they are not news for a watcher
    for (const [w, until] of watchers) {
      if (until < now) {
        watchers.delete(w)
        continue
      }
      transport.send(w, channel.seal(ENVELOPE_TYPE.monitor, r.plaintext))
      stats.forwarded++
    }
  })

  return {
    get address() {
      return transport.address
    },
    stats,
    async close() {
      if (closed) return
      closed = true
      await transport.close()
      await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())))
    },
  }
}
