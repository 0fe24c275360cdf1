/**
 * connect() by selector against a fake catalog and fake dials, on a virtual clock: no sockets, no
 * real waits. `flush` lets the promise chains a timer started run to the end (one macrotask turn).
 */
import test from 'ava'
import { connect, type ConnectInit } from '../../../actors/strew/connect.js'
import type { CatalogEndpoint } from '../../../machines/steward/types.js'
import { VirtualClock } from '../../../runtime/clock.js'
import { UnavailableError } from '../../../runtime/errors.js'

const RESCAN = 1_000
const ep = (instance: string, over: Partial<CatalogEndpoint> = {}): CatalogEndpoint => ({
  nodeId: `/crux/default/n${instance}/Galumph/Galumph2`, netId: '', horde: 'default', api: 'Galumph2', instance, address: `127.77.81.9:${instance.length}`, state: 'up', keyId: '', ...over,
})
const flush = () => new Promise((r) => setImmediate(r))

/** A fake world: a mutable catalog, dials that fail for the instances in `down`, and a log of what happened. */
function world(endpoints: CatalogEndpoint[]) {
  const w = {
    clock: new VirtualClock(0),
    endpoints,
    down: new Set<string>(),
    dialed: [] as string[],
    closed: [] as string[],
    switches: [] as string[],
    init: (over: Partial<ConnectInit<string>> = {}): ConnectInit<string> => ({
      selector: 'Galumph2',
      rescanMs: RESCAN,
      dial: async (e) => {
        w.dialed.push(e.instance)
        if (w.down.has(e.instance)) throw new Error(`connection refused by ${e.instance}`)
        return `conn-${e.instance}`
      },
      close: (conn) => void w.closed.push(conn),
      onSwitch: (from, to) => void w.switches.push(`${from.instance}->${to.instance}`),
      ...over,
    }),
    components: () => ({ catalog: async (api: string) => w.endpoints.filter((e) => e.api === api), clock: w.clock }),
  }
  return w
}

test('the greatest up instance that matches the selector is dialed', async (t) => {
  const w = world([ep('galumph2_1'), ep('galumph2_3'), ep('galumph2_9', { state: 'down' }), ep('zz', { api: 'Other1' })])
  const c = await connect(w.components(), w.init())
  t.is(c.endpoint.instance, 'galumph2_3')
  t.is(c.conn, 'conn-galumph2_3')
  t.deepEqual(w.dialed, ['galumph2_3'])
  const pinned = await connect(w.components(), w.init({ selector: 'Galumph2/galumph2_1' }))
  t.is(pinned.conn, 'conn-galumph2_1')
  await Promise.all([c.close(), pinned.close()])
})

test('a failed dial marks that instance and rescans to the next best', async (t) => {
  const w = world([ep('a'), ep('b'), ep('c')])
  w.down.add('c')
  const c = await connect(w.components(), w.init())
  t.is(c.endpoint.instance, 'b')
  t.deepEqual(w.dialed, ['c', 'b'])
  await c.close()
})

test('when every match fails: UnavailableError naming the API and the selector', async (t) => {
  const w = world([ep('a'), ep('b'), ep('x', { api: 'Other1' })])
  w.down.add('a').add('b')
  const err = await t.throwsAsync(connect(w.components(), w.init({ selector: 'Galumph2/*' })), { instanceOf: UnavailableError })
  t.is(err?.message, 'no up instance of Galumph2 matches Galumph2/*')
  t.deepEqual(w.dialed, ['b', 'a'])
  await t.throwsAsync(connect(w.components(), w.init({ selector: 'Nope1' })), { instanceOf: UnavailableError, message: 'no up instance of Nope1 matches Nope1' })
})

test('every rescan period a newly up greater instance is dialed and switched to; the old conn is closed', async (t) => {
  const w = world([ep('a')])
  const c = await connect(w.components(), w.init())
  w.clock.advance(RESCAN)
  await flush()
  t.is(c.endpoint.instance, 'a', 'nothing better yet: no switch')
  t.deepEqual(w.dialed, ['a'])
  w.endpoints.push(ep('b'))
  w.clock.advance(RESCAN)
  await flush()
  t.is(c.conn, 'conn-b')
  t.deepEqual(w.switches, ['a->b'])
  t.deepEqual(w.closed, ['conn-a'])
  await c.close()
})

test('a failed mark lasts one rescan period, then the recovered instance is picked again', async (t) => {
  const w = world([ep('a'), ep('b')])
  const c = await connect(w.components(), w.init())
  t.is(c.endpoint.instance, 'b')
  await c.markFailed()
  t.is(c.endpoint.instance, 'a', 'moved off the failed one')
  await c.rescan()
  t.is(c.endpoint.instance, 'a', 'within the period, b stays marked')
  w.clock.advance(RESCAN)
  await flush()
  t.is(c.endpoint.instance, 'b', 'the mark lapsed: back on the greatest')
  t.deepEqual(w.switches, ['b->a', 'a->b'])
  await c.close()
})

test('markFailed with nothing else up rejects, and a later rescan redials the same instance', async (t) => {
  const w = world([ep('a')])
  const c = await connect(w.components(), w.init())
  await t.throwsAsync(c.markFailed(), { instanceOf: UnavailableError, message: 'no up instance of Galumph2 matches Galumph2' })
  w.clock.advance(RESCAN)
  await flush()
  t.deepEqual(w.dialed, ['a', 'a'], 'a broken connection is replaced even by the same endpoint')
  t.deepEqual(w.closed, ['conn-a'])
  await c.close()
})

test('close stops rescanning and closes the connection', async (t) => {
  const w = world([ep('a')])
  const c = await connect(w.components(), w.init())
  await c.close()
  t.deepEqual(w.closed, ['conn-a'])
  t.is(w.clock.pending, 0)
  w.endpoints.push(ep('b'))
  w.clock.advance(10 * RESCAN)
  await flush()
  t.deepEqual(w.dialed, ['a'])
})
