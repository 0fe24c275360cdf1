/**
 * A real fulcrum out of file handles (issue 13 item 3): run under `prlimit --nofile`, with its gRPC
 * connections holding every handle left, its next checkpoint write fails with EMFILE. It says so,
 * keeps running, and writes the checkpoint once the connections close. Before, it exited on an
 * uncaught exception. Every wait polls the fulcrum's log under a hang guard.
 */
import test from 'ava'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import { FulcrumPool, until } from '../fixtures/fulcrums.js'
import { openSockets } from '../fixtures/grpc-stall.js'

const NOFILE = 64

test('EMFILE during a checkpoint is reported and survived; the retry writes it once handles are free', async (t) => {
  const pool = new FulcrumPool(t)
  const net = '127.77.96'
  // 50 ms heartbeats: a checkpoint every 3 s.
  const f = pool.start(`${net}.1:23123`, `${net}.1:23123`, ['--heartbeat', '50', '--grpc', `${net}.1:50059`, '--grpc-max-connections-per-address', '1000'], 'emfile', {
    prefix: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`],
  })
  await until(() => f.lines.some((l) => l.msg === 'fulcrum started'), 20_000, 'the fulcrum to start')
  const used = readdirSync(`/proc/${f.child.pid}/fd`).length
  const sockets: Socket[] = []
  t.teardown(() => sockets.forEach((s) => s.destroy()))
  // Every handle left, and a few more (those beyond are refused by the OS on accept).
  sockets.push(...(await openSockets(`${net}.1:50059`, NOFILE - used + 4, `${net}.2`)))
  await until(() => readdirSync(`/proc/${f.child.pid}/fd`).length >= NOFILE - 1, 10_000, 'the fulcrum out of handles')
  // Keep the pressure on until a checkpoint is refused: under load the fulcrum may have freed or not
  // yet taken a handle when its checkpoint comes, so a few more connections are offered every 500 ms.
  const more = setInterval(() => {
    openSockets(`${net}.1:50059`, 4, `${net}.2`).then((s) => sockets.push(...s), () => {})
  }, 500)
  t.teardown(() => clearInterval(more))
  await until(() => f.lines.some((l) => l.msg === 'persist failed; will retry'), 30_000, 'a refused checkpoint')
  clearInterval(more)
  t.like(f.lines.find((l) => l.msg === 'persist failed; will retry'), { level: 50, key: 'checkpoint', error: 'EMFILE' })
  t.is(f.child.exitCode, null)
  sockets.forEach((s) => s.destroy())
  await until(() => f.lines.some((l) => l.msg === 'persist recovered'), 20_000, 'the checkpoint written on a retry')
  const file = join(f.dataDir, 'store', readdirSync(join(f.dataDir, 'store')).find((d) => d.endsWith('~flock'))!, 'checkpoint.json')
  t.true(statSync(file).size > 0)
  t.is(f.child.exitCode, null)
  t.false(f.lines.some((l) => l.msg === 'stderr'), 'nothing on stderr')
})
