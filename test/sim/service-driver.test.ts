/** The simulator's service driver: registers each service at its time, beats every heartbeat, registers again when refused. */
import test from 'ava'
import { createActor } from 'xstate'
import type { Effect, HostEvent, SendEffect } from '../../machines/effects.js'
import { driverLogic } from '../../machines/strew/driver.machine.js'
import type { CatalogEndpoint } from '../../machines/strew/events.js'

const HB = 1000
const endpoint = (k: number): CatalogEndpoint => ({ nodeId: `/sim/h/x/Svc${k}/Api${k}`, netId: `/Svc${k}_0/x/net/n0:${60000 + k}`, horde: 'h', api: `Api${k}`, instance: '', address: `n0:${60000 + k}`, state: 'up', keyId: '/Reeve1_0/x/keys/k' })

function driver() {
  const effects: Effect[] = []
  const actor = createActor(driverLogic, {
    input: { node: 'x', keyId: '/Reeve1_0/x/keys/k', hbMs: HB, ttlMs: 3 * HB, phaseMs: 250, services: [{ endpoint: endpoint(0), uuid: 'u0', at: 0 }, { endpoint: endpoint(1), uuid: 'u1', at: 2 * HB }], now: 0 },
    clock: { setTimeout: () => { throw new Error('no real timers') }, clearTimeout: () => {} } as never,
  })
  actor.on('*', (e) => effects.push(e as unknown as Effect))
  actor.start()
  const send = (ev: HostEvent, now: number) => {
    const from = effects.length
    actor.send({ ...ev, now } as never)
    return effects.slice(from)
  }
  const sends = (out: Effect[]): Array<HostEvent & { to: string }> => out.filter((e): e is SendEffect => e.type === 'send').map((e) => ({ to: e.to, ...e.event }))
  return { actor, effects, send, sends, tick: (now: number) => send({ type: 'timer.fired', name: 'tick' }, now) }
}

test('the first tick comes after the phase; a service registers with its TTL at its time, from the driver, as the reeve\'s own caller', (t) => {
  const d = driver()
  t.deepEqual(d.effects, [{ type: 'timer.set', name: 'tick', ms: 250 }])
  const out = d.tick(250)
  const s = d.sends(out)
  t.is(s.length, 1)
  t.like(s[0], { to: 'x/reeve', type: 'reeve.register', id: 1, from: 'x/driver', caller: '/Reeve1_0/x/keys/k', heartbeat: { uuid: 'u0', holdMs: 3 * HB, state: 'up' } })
  t.deepEqual(out.at(-1), { type: 'timer.set', name: 'tick', ms: HB })
})

test('registered services beat every tick with the TTL; the second registers at its own time', (t) => {
  const d = driver()
  d.tick(250)
  d.send({ type: 'reeve.registered', id: 1 }, 260)
  const beats = d.sends(d.tick(1250))
  t.is(beats.length, 1)
  t.like(beats[0], { to: 'x/heartbeater', type: 'heartbeat.beats', from: 'x/driver', caller: '/Reeve1_0/x/keys/k' })
  t.deepEqual((beats[0] as unknown as { beats: unknown[] }).beats, [{ uuid: 'u0', state: 'up', netId: endpoint(0).netId, atMs: 1250, expiresMs: 4250, various: '' }])
  const both = d.sends(d.tick(2250))
  t.deepEqual(
    both.map((s) => s.type),
    ['reeve.register', 'heartbeat.beats'],
  )
  t.is(d.actor.getSnapshot().context.services[0]!.registeredAt, 260)
})

test('beats refused (NOT_FOUND) and registrations refused register again at the next tick', (t) => {
  const d = driver()
  d.tick(250)
  d.send({ type: 'call.refused', id: 1, code: 'FAILED_PRECONDITION', message: 'no' }, 260)
  t.deepEqual(d.sends(d.tick(1250)).map((s) => `${s.type} ${String(s.id)}`), ['reeve.register 2'])
  d.send({ type: 'reeve.registered', id: 2 }, 1260)
  const sent = d.sends(d.tick(2250))
  t.deepEqual(sent.map((s) => `${s.type} ${String(s.id)}`), ['reeve.register 3', 'heartbeat.beats 4'])
  d.send({ type: 'reeve.registered', id: 3 }, 2260)
  d.send({ type: 'call.refused', id: 4, code: 'NOT_FOUND', message: 'not kept' }, 2260)
  t.is(d.actor.getSnapshot().context.services[0]!.registeredAt, null)
  t.is(d.actor.getSnapshot().context.services[1]!.registeredAt, 2260)
  const again = d.sends(d.tick(3250))
  t.deepEqual(again.map((s) => s.type), ['reeve.register', 'heartbeat.beats'])
  t.deepEqual((again[1]!.beats as Array<{ uuid: string }>).map((b) => b.uuid), ['u1'])
})
