/**
 * The steward's rules on a real node (`--rules`): a service sees only the services its rules name,
 * in its own horde; the node itself (no caller service) sees everything.
 */
import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFulcrum } from '../../../actors/fulcrum/fulcrum.js'
import { createReeveClient } from '../../../actors/strew/client.js'
import { loadPeerTls } from '../../../runtime/grpc-tls.js'
import { parseProbeSpecs } from '../../../actors/flock/probe-spec.js'

test('with Web→Db, Web sees Db and not Cache; Db sees nothing; the node sees all three', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-strew-rules-'))
  const host = '127.77.86.1'
  const f = await startFulcrum({ host, port: 23123, dataDir: dir, probe: parseProbeSpecs([`${host}:23123`], 23123), secret: new Uint8Array(32).fill(7), hbMs: 200, logLevel: 'silent', grpc: { host, port: 0 }, rules: [{ horde: '*', from: 'Web', to: 'Db' }] })
  const c = createReeveClient({ address: f.strew!.address, tls: loadPeerTls(dir) })
  t.teardown(async () => {
    c.close()
    await f.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const end = Date.now() + 20_000
  while (f.strew!.following() === null && Date.now() < end) await new Promise((r) => setTimeout(r, 25))
  const [web, db] = await Promise.all([
    c.register({ service: 'Web', api: 'Http1', address: `${host}:80` }),
    c.register({ service: 'Db', api: 'Sql1', address: `${host}:5432` }),
    c.register({ service: 'Cache', api: 'Kv1', address: `${host}:6379` }),
  ])
  // The node's own pastiche (Pastiche1) and picket (Picket1, its muster) are in the catalog too: the node sees them and the three services.
  while ((await c.catalog()).endpoints.length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 25))
  t.deepEqual((await c.catalog()).endpoints.map((e) => e.api).sort(), ['Http1', 'Kv1', 'Pastiche1', 'Picket1', 'Sql1'], 'the node sees every service')
  t.deepEqual((await c.catalog({ nodeId: web })).endpoints.map((e) => e.nodeId), [db])
  t.deepEqual((await c.catalog({ nodeId: db })).endpoints, [])
})
