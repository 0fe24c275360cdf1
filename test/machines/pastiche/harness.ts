/** A pastiche machine stepped by hand on a virtual clock (test/machines/strew-harness.ts), with shorthands for its events. */
import type { Effect } from '../../../machines/effects.js'
import { pasticheLogic } from '../../../machines/pastiche.machine.js'
import type { PasticheConfig, PasticheInput } from '../../../machines/pastiche/types.js'
import { sent, stepper, timers } from '../strew-harness.js'

export const H = (c: string) => `sha256:${c.repeat(64)}`
export const A = H('a')
export const B = H('b')
export const T = 'port:pastiche-transfer'
export const STORE = 'port:pastiche-store'

export function pastiche(config: Partial<PasticheConfig> = {}, extra: Partial<PasticheInput> = {}) {
  const s = stepper(pasticheLogic, { node: 'me', now: 0, config: { minRange: 100, gatherMs: 0, ...config }, ...extra })
  const peers = (at: number, list: Array<[string, string[]?]>) => s.send({ type: 'peers', peers: list.map(([node, holds]) => ({ node, address: `${node}:1`, ...(holds === undefined ? {} : { holds: holds.map((hash) => ({ hash })) }) })) }, at)
  return {
    ...s,
    want: (hash: string, bytes?: number, at?: number) => s.send({ type: 'want', hash, ...(bytes === undefined ? {} : { bytes }) }, at),
    unwant: (hash: string, at?: number) => s.send({ type: 'unwant', hash }, at),
    held: (hash: string, bytes: number, at?: number) => s.send({ type: 'blob.held', hash, bytes }, at),
    gone: (hash: string, at?: number) => s.send({ type: 'blob.gone', hash }, at),
    peers,
    has: (id: number, held: boolean, bytes: number, at?: number, ok = true) => s.send({ type: 'has.answer', id, ok, held, bytes }, at),
    fetched: (id: number, result: 'ok' | 'bad' | 'failed', bytes: number, at?: number) => s.send({ type: 'fetched', id, result, bytes }, at),
    assembled: (id: number, ok: boolean, at?: number) => s.send({ type: 'assembled', id, ok }, at),
    tick: (at: number) => s.send({ type: 'timer.fired', name: 'tick' }, at),
  }
}

/** The fetches sent, as `from offset+length`. */
export const fetches = (out: Effect[]) => sent(out, 'fetch', T).map((e) => `${e.from} ${e.offset}+${e.length}`)
export const fetchIds = (out: Effect[]) => sent(out, 'fetch', T).map((e) => e.id as number)
export const asks = (out: Effect[]) => sent(out, 'has', T).map((e) => `${e.to} ${e.hash === A ? 'A' : e.hash === B ? 'B' : e.hash}`)
export const pins = (out: Effect[]) => [...sent(out, 'pin', STORE).map((e) => `pin ${e.hash}`), ...sent(out, 'unpin', STORE).map((e) => `unpin ${e.hash}`)]
export { sent, timers }
