/**
 * `crux replay --moninfo FILE`: a beacon's capture (one record a line, each with the time it arrived)
 * run through the status analyser on a virtual clock, so the picture of flocks over time comes back
 * exactly as a watcher would have seen it live, in no time.
 */
import { readFileSync } from 'node:fs'
import { statusMachine } from '../../machines/status.machine.js'
import { MON_OPS, type MonRecord, type StatusView } from '../../machines/status/types.js'
import { VirtualClock } from '../../runtime/clock.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { createActorHost } from '../../runtime/host.js'

const OPS: ReadonlySet<string> = new Set(MON_OPS)

/** Parses a capture; a malformed line is an error naming it (a cut-off last line is skipped). */
export function readCapture(path: string): Array<{ at: number; mon: MonRecord }> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const lines = text.split('\n')
  const complete = lines.length - 1 // the last piece is '' after a final newline, or a cut-off line
  const out: Array<{ at: number; mon: MonRecord }> = []
  for (let i = 0; i < complete; i++) {
    const line = lines[i]!
    if (line.trim() === '') continue
    let r: Record<string, unknown>
    try {
      r = JSON.parse(line) as Record<string, unknown>
    } catch {
      throw new InvalidArgumentError(`${path}:${i + 1}: not JSON`)
    }
    const ok = typeof r.at === 'number' && typeof r.op === 'string' && OPS.has(r.op) && ['node', 'flock', 'leader'].every((k) => typeof r[k] === 'string') && typeof r.n === 'number'
    if (!ok) throw new InvalidArgumentError(`${path}:${i + 1}: not a beacon record (at, op, node, flock, leader, n)`)
    if (r.dump === true) continue // a ring-buffer dump: old records, filed when they arrived
    out.push({ at: r.at as number, mon: { op: r.op as MonRecord['op'], node: r.node as string, flock: r.flock as string, leader: r.leader as string, n: r.n as number, oflock: String(r.oflock ?? ''), t: Number(r.t ?? 0), cause: String(r.cause ?? '') } })
  }
  return out
}

/** Every judgement the analyser makes over the capture, in order. */
export function replayCapture(records: ReadonlyArray<{ at: number; mon: MonRecord }>, stableMs: number): StatusView[] {
  const views: StatusView[] = []
  const start = records.length === 0 ? 0 : Math.min(...records.map((r) => r.at))
  const clock = new VirtualClock(start)
  const host = createActorHost({ clock, machines: [statusMachine] }, { node: 'replay' })
  host.onEmit((_actor, rec) => {
    if (rec.type === 'Status') views.push(rec as unknown as StatusView)
  })
  host.spawn('status', statusMachine.name, { stableMs, now: start })
  for (const r of records) {
    clock.runUntil(Math.max(clock.now(), r.at))
    host.send('status', { type: 'mon', mon: r.mon }, 'control')
    clock.runUntil(clock.now())
  }
  // Long enough after the last record for the last flock to become stable, or lapse.
  clock.runUntil(clock.now() + 2 * stableMs)
  return views
}
