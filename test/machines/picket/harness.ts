/**
 * A picket machine stepped by hand on a virtual clock (test/machines/strew-harness.ts): shorthands for
 * its events, and a timer table kept from its own timer effects, so `until(t)` fires every timer due by
 * `t` in order, as the host would.
 */
import type { Effect } from '../../../machines/effects.js'
import { picketLogic } from '../../../machines/picket.machine.js'
import type { Manifest, PersistedService, PicketConfig } from '../../../machines/picket/types.js'
import { persists, sends, sent, stepper, timers } from '../strew-harness.js'

export const H = (c: string) => `sha256:${c.repeat(64)}`
export const A = H('a')
export const B = H('b')
export const KEY = 'KEY-node'
export const RUN = 'port:picket-run'
export const REEVE = 'n1/reeve'
export const HB = 'n1/heartbeater'
export const SELF = 'n1/picket'
export const CONFIG: PicketConfig = { backoffMinMs: 100, backoffMaxMs: 800, backoffResetMs: 5000, hbMs: 200 }

export const manifest = (o: Partial<Manifest> = {}): Manifest => ({ service: 'Echo', api: 'Echo1', instance: 'echo_1', entry: 'main.js', kind: 'process', args: [], env: {}, ttlMs: 1000, startMs: 2000, stopMs: 500, graceMs: 3000, memoryMb: null, ...o })

/** A picket machine; `address` given, it registers its muster there (machines/picket/muster.ts). */
export function picket(config: Partial<PicketConfig> = {}, services: PersistedService[] = [], address?: string) {
  const s = stepper(picketLogic, { node: 'n1', now: 0, config: { ...CONFIG, ...config }, reeve: REEVE, heartbeater: HB, keyId: KEY, self: SELF, nodeIdPrefix: '/b/h/n1', horde: 'h', services, ...(address === undefined ? {} : { address }) })
  let now = 0
  let seq = 0
  /** Pending timers: name → [due, order set]. */
  const pending = new Map<string, [number, number]>()
  const track = (out: Effect[]) => {
    for (const e of out) {
      if (e.type === 'timer.set') pending.set(e.name, [now + e.ms, seq++])
      if (e.type === 'timer.cancel') pending.delete(e.name)
    }
    return out
  }
  track(s.start)
  const send = (ev: { type: string; [k: string]: unknown }, at?: number) => {
    now = at ?? now
    return track(s.send(ev, now))
  }
  let req = 100
  const request = (type: string, name: string, extra: Record<string, unknown> = {}, at?: number, caller = KEY) => send({ type: `picket.${type}`, id: ++req, from: `reply:${req}`, caller, name, ...extra }, at)
  return {
    ...s,
    /** What the machine's entry emitted. */
    started: s.start,
    now: () => now,
    pending: () => [...pending.entries()].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]).map(([name, [due]]) => `${name}@${due}`),
    start: (name: string, hash = A, at?: number, caller = KEY) => request('start', name, { hash }, at, caller),
    stop: (name: string, at?: number, caller = KEY) => request('stop', name, {}, at, caller),
    reset: (name: string, at?: number) => request('reset', name, {}, at),
    upgrade: (name: string, hash: string, at?: number) => request('upgrade', name, { hash }, at),
    ready: (run: number, hash = A, m = manifest(), at?: number) => send({ type: 'bundle.ready', run, hash, manifest: m }, at),
    bundleFailed: (run: number, hash = A, reason = 'no such blob', at?: number) => send({ type: 'bundle.failed', run, hash, reason }, at),
    spawned: (run: number, pid: number | null = 4000 + run, at?: number) => send({ type: 'run.spawned', run, pid }, at),
    listening: (run: number, address = `127.0.0.1:${9000 + run}`, at?: number) => send({ type: 'run.listening', run, address }, at),
    alive: (run: number, at?: number) => send({ type: 'run.alive', run }, at),
    exited: (run: number, at?: number, code: number | null = 1, signal: string | null = null) => send({ type: 'run.exited', run, code, signal }, at),
    registered: (id: number, at?: number) => send({ type: 'reeve.registered', id, heartbeater: true }, at),
    deregistered: (id: number, at?: number) => send({ type: 'reeve.deregistered', id, heartbeater: true }, at),
    hbOk: (id: number, at?: number) => send({ type: 'heartbeat.ok', id }, at),
    refused: (id: number, code = 'UNAVAILABLE', at?: number) => send({ type: 'call.refused', id, code, message: 'no' }, at),
    fire: (name: string, at?: number) => {
      pending.delete(name)
      return send({ type: 'timer.fired', name }, at)
    },
    /** Fires, in order, every timer due by `t` (each at its due time), then sets the clock to `t`; what they emitted. */
    until(t: number): Effect[] {
      const out: Effect[] = []
      for (;;) {
        const next = [...pending.entries()].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1])[0]
        if (next === undefined || next[1][0] > t) break
        pending.delete(next[0])
        out.push(...send({ type: 'timer.fired', name: next[0] }, next[1][0]))
      }
      now = t
      return out
    },
    /**
     * Lets time pass to `t` while runs `runs` beat every `every` ms (each beats call answered at once);
     * what the timers emitted (the beats and their answers left out).
     */
    keepAlive(runs: number[], t: number, every = 400): Effect[] {
      const out: Effect[] = []
      for (let at = now + every; at <= t; at += every) {
        out.push(...this.until(at))
        for (const run of runs) for (const b of sent(send({ type: 'run.alive', run }, at), 'heartbeat.beats', HB)) send({ type: 'heartbeat.ok', id: b.id }, at)
      }
      out.push(...this.until(t))
      return out
    },
    send,
    service: (name: string) => s.context().services[name],
  }
}

export type Picket = ReturnType<typeof picket>

/** The messages to the run edge, as `type run` (or `forget name`). */
export const runMsgs = (out: Effect[]) => sends(out, undefined, RUN).map(({ event: e }) => `${e.type} ${e.type === 'forget' ? e.name : e.run}`)
/** The answer a request got. */
/** The answer in `out`: `picket.answer`, or `call.refused` for a refusal. */
export const answerOf = (out: Effect[]) => out.filter((e) => e.type === 'send' && (e.event.type === 'picket.answer' || e.event.type === 'call.refused')).map((e) => (e.type === 'send' ? e.event : null))[0] as Record<string, any> | undefined
/** Registration calls to the reeve. */
export const registers = (out: Effect[]) => sent(out, 'reeve.register', REEVE)
export const deregisters = (out: Effect[]) => sent(out, 'reeve.deregister', REEVE)
/** MonInfo records emitted. */
export const records = (out: Effect[]) => out.flatMap((e) => (e.type === 'emit' ? [e.record] : []))

/** Brings service `name` (its first run `run`) to running: ready, spawned, listening, registered at `at`. Returns the registration id. */
export function bringUp(m: Picket, run: number, at: number, hash = A, man = manifest()): number {
  m.ready(run, hash, man, at)
  m.spawned(run, undefined, at)
  const [reg] = registers(m.listening(run, undefined, at))
  m.registered(reg!.id, at)
  return reg!.id
}

export { persists, sent, timers }
