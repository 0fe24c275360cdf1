/**
 * The gRPC road's compliance suite: what every road (grpc-js on loopback, the simulated network)
 * must do with the same route table (test/fixtures/echo-road.ts). Node `a` asks, node `b` serves;
 * both run an `echo` and an `asker`, each host records a journal.
 */
import test, { type ExecutionContext } from 'ava'
import type { HostEvent } from '../../machines/effects.js'
import { grpcAddress } from '../../runtime/address.js'
import type { GrpcRoad } from '../../runtime/grpc-road.js'
import type { ActorHost } from '../../runtime/host.js'
import type { MemorySink } from '../../runtime/recorder.js'
import { replayJournal } from '../../runtime/replayer.js'
import type { Router } from '../../runtime/router.js'
import { ECHO, echoMachines } from '../fixtures/echo-road.js'

/** One node of a world. */
export interface RoadNode {
  name: string
  host: ActorHost
  road: GrpcRoad
  router: Router
  /** Its gRPC HOST:PORT. */
  grpc: string
  sink: MemorySink
}

export interface RoadWorld {
  a: RoadNode
  b: RoadNode
  /** The identity `b` sees on calls from `a` (and `a` on its own looped calls). */
  callerOfA: string
  /** Lets time pass (virtual or real) until `done()` holds or `ms` have passed. */
  until(done: () => boolean, ms: number): Promise<void>
}

export interface WorldOptions {
  maxPending?: number
  /** The client's deadline of a unary call. */
  unaryDeadlineMs: number
  /** How long `echo` has to answer a Say. */
  serverDeadlineMs: number
}

/** Builds a world: two nodes, `a/echo`, `a/asker`, `b/echo`, `b/asker` spawned, roads attached. */
export type WorldMaker = (t: ExecutionContext, o: WorldOptions) => Promise<RoadWorld>

const DEFAULTS: WorldOptions = { unaryDeadlineMs: 3_000, serverDeadlineMs: 300 }

const got = (n: RoadNode): HostEvent[] => (n.host.state(`${n.name}/asker`).context as { got: HostEvent[] }).got
const echoCtx = (n: RoadNode) => n.host.state(`${n.name}/echo`).context as { watchers: unknown[]; cancelled: number }
const ask = (w: RoadWorld, to: string, request: HostEvent): void => void w.a.host.send('a/asker', { type: 'ask', to, request }, 'control')
const toB = (w: RoadWorld) => grpcAddress(w.b.grpc, 'echo')

/** Registers the suite's tests under `label`. */
export function roadCompliance(label: string, make: WorldMaker): void {
  const world = (t: ExecutionContext, o: Partial<WorldOptions> = {}) => make(t, { ...DEFAULTS, ...o })

  test(`${label}: a unary call's answer arrives in the sender's mailbox, with the caller the server saw`, async (t) => {
    const w = await world(t)
    ask(w, toB(w), { type: 'echo.say', text: 'hi' })
    await w.until(() => got(w.a).length > 0, 3_000)
    t.deepEqual(got(w.a), [{ type: 'echo.said', id: 1, text: 'hi', caller: w.callerOfA }])
    t.like(w.a.road.counters, { sent: 1, answered: 1, looped: 0 })
    t.like(w.b.road.counters, { accepted: 1, late: 0 })
    t.is(w.b.road.pending, 0)
  })

  test(`${label}: a streaming call delivers one event per message, in order, and ends with the terminal one`, async (t) => {
    const w = await world(t)
    ask(w, toB(w), { type: 'echo.count', n: 3 })
    await w.until(() => got(w.a).some((e) => e.type === 'echo.done'), 3_000)
    t.deepEqual(got(w.a), [
      { type: 'echo.tick', id: 1, i: 0 },
      { type: 'echo.tick', id: 1, i: 1 },
      { type: 'echo.tick', id: 1, i: 2 },
      { type: 'echo.done', id: 1 },
    ])
    t.is(w.b.road.pending, 0)
  })

  test(`${label}: call.refused ends the call with its status; the sender gets call.failed`, async (t) => {
    const w = await world(t)
    ask(w, toB(w), { type: 'echo.say', text: 'refuse' })
    await w.until(() => got(w.a).length > 0, 3_000)
    t.like(got(w.a)[0], { type: 'call.failed', id: 1, request: 'echo.say', code: 'PERMISSION_DENIED', message: 'no' })
    t.is(w.b.road.counters.refused.PERMISSION_DENIED, 1)
  })

  test(`${label}: a method whose actor is not running is UNAVAILABLE`, async (t) => {
    const w = await world(t)
    ask(w, grpcAddress(w.b.grpc, 'ghost'), { type: 'ghost.say', text: 'boo' })
    await w.until(() => got(w.a).length > 0, 3_000)
    t.like(got(w.a)[0], { type: 'call.failed', id: 1, request: 'ghost.say', code: 'UNAVAILABLE' })
  })

  test(`${label}: an unanswered call times out DEADLINE_EXCEEDED; a late answer is dropped and counted`, async (t) => {
    const w = await world(t)
    ask(w, toB(w), { type: 'echo.say', text: 'silent' })
    ask(w, toB(w), { type: 'echo.say', text: 'slow', delayMs: 600 })
    await w.until(() => got(w.a).length === 2 && w.b.road.counters.late === 1, 3_000)
    t.deepEqual(
      got(w.a).map((e) => [e.type, e.id, e.code]),
      [
        ['call.failed', 1, 'DEADLINE_EXCEEDED'],
        ['call.failed', 2, 'DEADLINE_EXCEEDED'],
      ],
    )
    t.is(w.b.road.counters.late, 1)
    t.is(w.b.road.pending, 0)
  })

  test(`${label}: a cancelled stream tells its actor call.cancelled, which drops the watcher`, async (t) => {
    const w = await world(t)
    ask(w, toB(w), { type: 'echo.count', n: -1 })
    await w.until(() => echoCtx(w.b).watchers.length === 1, 3_000)
    t.is(w.b.road.pending, 1)
    w.a.host.send('a/asker', { type: 'cancel', to: toB(w), id: 1 }, 'control')
    await w.until(() => echoCtx(w.b).cancelled === 1, 3_000)
    t.deepEqual(echoCtx(w.b).watchers, [])
    t.is(w.b.road.pending, 0)
    t.is(w.b.road.counters.cancelled, 1)
    t.deepEqual(got(w.a), [])
  })

  test(`${label}: past the bound of pending calls a call is RESOURCE_EXHAUSTED`, async (t) => {
    const w = await world(t, { maxPending: 2 })
    for (let i = 0; i < 3; i++) ask(w, toB(w), { type: 'echo.say', text: 'silent' })
    await w.until(() => got(w.a).length === 3, 3_000)
    // Which of the three arrives last is the carrier's business; the bound's verdict is not.
    t.deepEqual(got(w.a).map((e) => String(e.code)).sort(), ['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED'])
    t.is(w.b.road.counters.refused.RESOURCE_EXHAUSTED, 1)
  })

  test(`${label}: request bytes that do not decode are INVALID_ARGUMENT at the edge and reach no actor`, async (t) => {
    const w = await world(t)
    const before = w.b.host.counters.deliveries
    let end: { code: string } | null | undefined
    w.a.road.carrier(w.b.grpc, ECHO.Say, Buffer.from('{"id":"one"}'), 2_000, { message: () => {}, end: (f) => void (end = f) })
    await w.until(() => end !== undefined, 3_000)
    t.like(end, { code: 'INVALID_ARGUMENT' })
    t.is(w.b.host.counters.deliveries, before)
    t.is(w.b.road.counters.refused.INVALID_ARGUMENT, 1)
  })

  test(`${label}: a send to the node's own gRPC address goes to its own mailbox without a call`, async (t) => {
    const w = await world(t)
    ask(w, grpcAddress(w.a.grpc, 'echo'), { type: 'echo.say', text: 'me' })
    ask(w, grpcAddress(w.a.grpc, 'echo'), { type: 'echo.say', text: 'refuse' })
    await w.until(() => got(w.a).length === 2, 3_000)
    t.deepEqual(got(w.a)[0], { type: 'echo.said', id: 1, text: 'me', caller: w.callerOfA })
    t.like(got(w.a)[1], { type: 'call.failed', id: 2, code: 'PERMISSION_DENIED' })
    t.like(w.a.road.counters, { sent: 0, looped: 2 })
    t.is(w.b.road.counters.accepted, 0)
  })

  test(`${label}: answers are journalled inputs of the sender and the journals replay without divergence`, async (t) => {
    const w = await world(t)
    ask(w, toB(w), { type: 'echo.say', text: 'one' })
    ask(w, toB(w), { type: 'echo.count', n: 2 })
    ask(w, toB(w), { type: 'echo.say', text: 'refuse' })
    await w.until(() => got(w.a).length === 5, 3_000)
    for (const n of [w.a, w.b]) n.host.close()
    const inputs = w.a.sink.lines.filter((l) => l.includes('"actor":"a/asker"') && l.includes('"in":'))
    t.true(inputs.some((l) => l.includes('"type":"echo.said"')))
    t.true(inputs.some((l) => l.includes('"type":"echo.done"')))
    t.true(inputs.some((l) => l.includes('"type":"call.failed"')))
    for (const n of [w.a, w.b]) {
      const report = replayJournal(n.sink.lines, { machines: echoMachines })
      t.false(report.diverged)
      t.true(report.verified > 3)
    }
  })
}
