/**
 * `crux watch`: the status analyser (machines/status.machine.ts) hosted on the real clock, fed by a
 * beacon. Every 3 s it asks the beacon (sealed under the flock secret) to forward what it receives;
 * each record becomes a `mon` event, and each Status the machine emits goes to `onStatus`.
 */
import { statusMachine } from '../../machines/status.machine.js'
import type { MonRecord, StatusView } from '../../machines/status/types.js'
import { RealClock } from '../../runtime/clock.js'
import { createActorHost } from '../../runtime/host.js'
import { decodeMonitor, encodeMonitor } from './codec.js'
import { createSealedTransport } from '../../runtime/sealed-transport.js'
import { ENVELOPE_TYPE } from '../../runtime/secondary-channel.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'

export interface WatchOptions {
  beacon: string
  secret: Uint8Array
  stableMs: number
  onStatus(view: StatusView): void
  /** Each record as it arrives, before the analyser reads it (the visualiser names nodes from them). */
  onRecord?(mon: MonRecord): void
}

export interface Watch {
  /** Records received from the beacon so far. */
  records(): number
  close(): Promise<void>
}

const RENEW_MS = 3_000

export async function startWatch(o: WatchOptions): Promise<Watch> {
  const clock = new RealClock()
  const udp = await createUdpTransport({ host: '0.0.0.0', port: 0 })
  const rand = crypto.getRandomValues(new Uint32Array(2))
  const sealed = createSealedTransport({ transport: udp }, { secret: o.secret, keyId: rand[0]!, startCounter: Math.floor(clock.now() / 1000) * 2 ** 21, type: ENVELOPE_TYPE.monitor })
  const host = createActorHost({ clock, machines: [statusMachine] }, { node: 'watch' })
  host.onEmit((_actor, rec) => {
    if (rec.type === 'Status') o.onStatus(rec as unknown as StatusView)
  })
  host.spawn('status', statusMachine.name, { stableMs: o.stableMs, now: clock.now() })
  let records = 0
  sealed.onReceive((bytes) => {
    let p
    try {
      p = decodeMonitor(bytes)
    } catch {
      return // not a batch: ignored
    }
    if (p.type !== 'batch') return
    for (const mon of p.events) {
      o.onRecord?.(mon)
      host.send('status', { type: 'mon', mon }, 'data')
    }
    records += p.events.length
  })
  const ask = () => sealed.send(o.beacon, encodeMonitor({ type: 'watch', nonce: rand[1]! }))
  ask()
  const renew = setInterval(ask, RENEW_MS)
  return {
    records: () => records,
    async close() {
      clearInterval(renew)
      clock.cancelAll()
      await sealed.close()
    },
  }
}
