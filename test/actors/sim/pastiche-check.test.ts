/**
 * The pastiche checker on hand-made stores: a wrong blob, a lost holding, a missing one, a late one,
 * an unpinned one are each reported; a holding nobody live and honest can serve is not judged; and the
 * seeded blob plan is a function of its seed.
 */
import test from 'ava'
import { blobName, planBlobs } from '../../../actors/sim/pastiche-blobs.js'
import { PasticheChecker, type PasticheNodeView } from '../../../actors/sim/pastiche-check.js'

const X = Buffer.from('blob x')
const HX = blobName(X)
const view = (node: string, held: Array<[string, Uint8Array]>, pins: string[] = [], honest = true): PasticheNodeView => ({ node, honest, store: new Map(held), pins: new Set(pins) })

test('a holding fetched and pinned in time: no violation, and how long it took', (t) => {
  const c = new PasticheChecker([{ hash: HX, node: 'n1', atHb: 2 }], 1)
  c.observe(1, [view('n0', [[HX, X]]), view('n1', [])])
  t.true(c.complete === false)
  c.observe(5, [view('n0', [[HX, X]]), view('n1', [[HX, X]], [HX])])
  t.true(c.complete)
  c.finish(6, [view('n0', [[HX, X]]), view('n1', [[HX, X]], [HX])])
  t.like(c.summary(), { blobs: 1, wanted: 1, done_hb_max: 3, unservable: 0, violations: [] })
})

test('bytes that do not hash to their name are a wrong blob', (t) => {
  const c = new PasticheChecker([], 1)
  c.observe(3, [view('n0', [[HX, Buffer.from('blob y')]])])
  t.deepEqual(Object.keys(c.kinds()), ['pastiche-wrong-blob'])
  t.regex(c.summary().violations[0]!, /^HB 3: n0 holds sha256:[0-9a-f]{12}, whose bytes hash to sha256:[0-9a-f]{12}$/)
})

test('a held holding that disappears is lost; one never fetched though servable is missing; one fetched late is late; one not pinned is unpinned', (t) => {
  const lost = new PasticheChecker([{ hash: HX, node: 'n1', atHb: 0 }], 1)
  lost.observe(1, [view('n0', [[HX, X]]), view('n1', [[HX, X]], [HX])])
  lost.observe(2, [view('n0', [[HX, X]]), view('n1', [])])
  t.deepEqual(lost.kinds(), { 'pastiche-lost': 1 })
  const missing = new PasticheChecker([{ hash: HX, node: 'n1', atHb: 0 }], 1)
  missing.observe(9, [view('n0', [[HX, X]]), view('n1', [])])
  missing.finish(9, [view('n0', [[HX, X]]), view('n1', [])])
  t.deepEqual(missing.kinds(), { 'pastiche-missing': 1 })
  const late = new PasticheChecker([{ hash: HX, node: 'n1', atHb: 0 }], 1, { doneHb: 5 })
  late.fault(2, { kind: 'heal' })
  late.observe(8, [view('n0', [[HX, X]]), view('n1', [[HX, X]], [HX])])
  late.finish(8, [view('n0', [[HX, X]]), view('n1', [[HX, X]], [HX])])
  t.deepEqual(late.kinds(), { 'pastiche-late': 1 }, 'HB 8 is more than 5 after the last fault at HB 2')
  const unpinned = new PasticheChecker([{ hash: HX, node: 'n1', atHb: 0 }], 1)
  unpinned.observe(1, [view('n1', [[HX, X]])])
  unpinned.finish(1, [view('n1', [[HX, X]])])
  t.deepEqual(unpinned.kinds(), { 'pastiche-unpinned': 1 })
})

test('a holding only a corrupt or a crashed node could serve is not judged, but counted as unservable', (t) => {
  const c = new PasticheChecker([{ hash: HX, node: 'n1', atHb: 0 }], 1)
  c.fault(1, { kind: 'crash', nodes: ['n2'] })
  const views = [view('n0', [[HX, X]], [], false), view('n1', []), view('n2', [[HX, X]])]
  c.observe(4, views)
  t.true(c.complete)
  c.finish(4, views)
  t.like(c.summary(), { unservable: 1, violations: [] })
})

test('the blob plan is a function of the seed: sizes of a few KB, names that are the hashes, never wanted where placed', (t) => {
  const a = planBlobs(7, 10, 20, 2, 10)
  t.deepEqual(planBlobs(7, 10, 20, 2, 10), a)
  t.notDeepEqual(planBlobs(8, 10, 20, 2, 10).blobs.map((b) => b.hash), a.blobs.map((b) => b.hash))
  t.is(new Set(a.blobs.map((b) => b.hash)).size, 20)
  for (const b of a.blobs) {
    t.is(blobName(b.bytes), b.hash)
    t.true(b.bytes.length >= 1024 && b.bytes.length <= 8192)
    t.is(b.placed.length, 2)
    t.is(b.wanted.length, 3)
    t.false(b.wanted.some((i) => b.placed.includes(i)))
    t.true(b.wantedAt.every((h) => h >= 0 && h < 10))
  }
  t.is(a.corrupt.length, 2)
})
