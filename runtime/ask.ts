/**
 * Request and reply over a mailbox: the gRPC edge puts a request in an actor's mailbox and answers
 * once the step that took it is done (its effects executed, its persists handed to the store). The
 * event carries a request number (`req`), so the journal shows which step answered which call.
 * Requests travel in the control class: never dropped, refused when the mailbox is full, which the
 * caller hears as RESOURCE_EXHAUSTED rather than as silence.
 */
import type { HostEvent } from '../machines/effects.js'
import type { Clock, TimerHandle } from './clock.js'
import { ResourceExhaustedError, UnavailableError } from './errors.js'
import type { ActorHost, StepInfo } from './host.js'

export type Ask = (actor: string, event: HostEvent) => Promise<StepInfo>

/** Builds `ask(actor, event)` for `host`; a request not stepped within `timeoutMs` (default 10 s) fails. */
export function createAsk(host: ActorHost, clock: Clock, init: { timeoutMs?: number } = {}): Ask {
  const timeoutMs = init.timeoutMs ?? 10_000
  let next = 1
  const waiting = new Map<number, { resolve(info: StepInfo): void; reject(err: Error): void; timer: TimerHandle }>()
  host.onStep((info) => {
    const req = info.event.req
    if (typeof req !== 'number') return
    const w = waiting.get(req)
    if (w === undefined) return
    waiting.delete(req)
    clock.cancel(w.timer)
    if (info.error === undefined) w.resolve(info)
    else w.reject(new UnavailableError(`${info.actor} failed on ${info.event.type}`))
  })
  return (actor, event) =>
    new Promise<StepInfo>((resolve, reject) => {
      const req = next++
      const r = host.send(actor, { ...event, req }, 'control')
      if (r === 'rejected') return reject(new ResourceExhaustedError(`${actor} is busy`))
      if (r === 'unknown' || r === 'failed') return reject(new UnavailableError(`${actor} is not running`))
      const timer = clock.schedule(timeoutMs, () => {
        waiting.delete(req)
        reject(new UnavailableError(`${actor} did not take ${event.type} within ${timeoutMs} ms`))
      })
      waiting.set(req, { resolve, reject, timer })
    })
}
