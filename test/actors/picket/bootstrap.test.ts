/**
 * The bootstrap is found beside the module that spawns services, whether that is tsc's output or
 * the one-file bundle the fulcrum runs; and the bundle's copy runs a service.
 */
import test from 'ava'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { bootstrapFile } from '../../../actors/picket/bootstrap.js'
import { FIXTURES, harness, isType, putDir } from './harness.js'

const dist = fileURLToPath(new URL('../../../', import.meta.url))
const bundled = join(dist, 'bin', 'service-child.mjs')

test('from tsc output the bootstrap is dist/actors/picket/service-child.mjs', (t) => {
  t.is(bootstrapFile(), join(dist, 'actors', 'picket', 'service-child.mjs'))
})

test('from the bundle it is dist/bin/service-child.mjs, which the build emits', (t) => {
  t.is(bootstrapFile(pathToFileURL(join(dist, 'bin', 'crux.bundle.mjs')).href), bundled)
  t.true(existsSync(bundled))
})

test('a bootstrap missing from the build is a clear error', (t) => {
  t.throws(() => bootstrapFile(pathToFileURL('/nonexistent/dir/x.mjs').href), { message: /the service bootstrap \/nonexistent\/dir\/service-child.mjs is missing \(npm run build makes it\)/ })
})

test("the bundle's bootstrap runs a service, quit and all", async (t) => {
  const h = await harness(t, { bootstrap: bundled })
  const hash = await putDir(h.store, join(FIXTURES, 'echo'))
  h.edge.take({ type: 'prepare', run: 1, hash })
  const { manifest } = await h.waitFor(isType('bundle.ready', 1))
  h.edge.take({ type: 'spawn', run: 1, name: 'echo', hash, manifest })
  await h.waitFor(isType('run.listening', 1))
  await h.waitFor(isType('run.alive', 1))
  h.edge.take({ type: 'quit', run: 1 })
  t.is((await h.waitFor(isType('run.exited', 1))).code, 0)
})
