/**
 * A fulcrum's monitoring (seed 000, original-crux.md §2.2): every MonInfo record its flock machine
 * emits goes into a ring buffer (the last `ringSize`) and, when the flock knows a beacon (`--beacon`,
 * or the leader's, which travels in its check-ins), to that beacon, batched once per step and sealed
 * under the secondary key. A `Dump` the machine emits (Confab `dump`, `crux dump`) sends the whole
 * ring to the address asked for. The picket machine's records of the node's services (a restart, a
 * failure, an upgrade) travel the same way as MonInfo records of the Service ops.
 */
import { SERVICE_OPS, type MonRecord } from '../../machines/status/types.js'
import type { ActorHost } from '../../runtime/host.js'
import { batches, encodeMonitor } from '../monitor/codec.js'
import { RingBuffer } from '../../runtime/ring-buffer.js'
import { ENVELOPE_TYPE } from '../../runtime/secondary-channel.js'

export interface FulcrumMonitor {
  readonly ring: RingBuffer<MonRecord>
  /** Records and batches sent to beacons, and dumps carried out. */
  readonly sent: { records: number; batches: number; dumps: number }
}

export interface FulcrumMonitorComponents {
  host: ActorHost
  transport: { sendSecondary(to: string, type: number, bytes: Uint8Array): void }
  /** Where the flock currently sends MonInfo ('' for nowhere). */
  beacon(): string
  /** This node, its flock and leader now, and its clock: what a service's record is stamped with. */
  self?(): { node: string; flock: string; leader: string; t: number }
}

/** At most `max` UTF-8 bytes of `s` (a MonInfo string's bound), cut on a character. */
function bounded(s: string, max = 64): string {
  let out = s.slice(0, max)
  while (Buffer.byteLength(out) > max) out = out.slice(0, -1)
  return out
}

/**
 * A record of the picket machine (docs/SERVICES.md) as MonInfo: its op, the service's name, its
 * restarts, and why (an upgrade that went through names its new hash).
 */
export function serviceRecord(rec: { type: string; [k: string]: unknown }, self: { node: string; flock: string; leader: string; t: number }): MonRecord | undefined {
  if (!SERVICE_OPS.has(rec.type) || typeof rec.name !== 'string') return undefined
  const why = rec.type === 'ServiceUpgrade' && rec.ok === true ? `upgraded to ${String(rec.to).slice(0, 19)}` : String(rec.reason ?? '')
  return { op: rec.type as MonRecord['op'], node: self.node, flock: self.flock, leader: self.leader, n: typeof rec.restarts === 'number' ? rec.restarts : 0, oflock: '', t: self.t, cause: bounded(why), service: bounded(rec.name) }
}

function record(r: { [k: string]: unknown }): MonRecord {
  return { op: r.op as MonRecord['op'], node: String(r.node), flock: String(r.flock), leader: String(r.leader), n: Number(r.n), oflock: String(r.oflock ?? ''), t: Number(r.t), cause: String(r.cause ?? '') }
}

export function attachFulcrumMonitor(c: FulcrumMonitorComponents, init: { ringSize: number }): FulcrumMonitor {
  const ring = new RingBuffer<MonRecord>(init.ringSize)
  const sent = { records: 0, batches: 0, dumps: 0 }
  let pending: MonRecord[] = []
  const send = (to: string, events: readonly MonRecord[], dump: boolean) => {
    for (const b of batches(events, dump)) {
      c.transport.sendSecondary(to, ENVELOPE_TYPE.monitor, encodeMonitor(b))
      sent.batches++
    }
  }
  c.host.onEmit((_actor, rec) => {
    if (rec.type === 'MonInfo') {
      const m = record(rec)
      ring.push(m)
      pending.push(m)
    } else if (SERVICE_OPS.has(rec.type) && c.self !== undefined) {
      const m = serviceRecord(rec, c.self())
      if (m !== undefined) (ring.push(m), pending.push(m))
    } else if (rec.type === 'Dump' && typeof rec.to === 'string') {
      send(rec.to, ring.toArray(), true)
      sent.dumps++
    }
  })
  c.host.onStep(() => {
    if (pending.length === 0) return
    const beacon = c.beacon()
    if (beacon !== '') {
      send(beacon, pending, false)
      sent.records += pending.length
    }
    pending = []
  })
  return { ring, sent }
}
