/** Confab from outside: a holder of the secret asks any fulcrum, without joining; others get nothing. */
import test from 'ava'
import { spawnSync, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateSecret } from '../../runtime/secret.js'
import { agreed, FulcrumPool, until } from '../fixtures/fulcrums.js'

const BOUND = 30_000

/** Runs the CLI without blocking the event loop (the fulcrums' logs must keep flowing meanwhile). */
function crux(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/bin/crux.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    // 'close', not 'exit': the output may still be on its way when the process has exited.
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

for (const n of [5, 10]) {
  test(`${n} fulcrums agree, and crux members --json from outside lists them all`, async (t) => {
    const net = n === 5 ? 27 : 28
    const pool = new FulcrumPool(t)
    const fs = Array.from({ length: n }, (_, i) => pool.start(`127.77.${net}.${i + 1}:23123`, `127.77.${net}.0/28`))
    await until(() => agreed(fs, n), BOUND, `one flock of ${n}`)
    const r = await crux('members', '--target', `127.77.${net}.${n}:23123`, '--secret-file', pool.secretFile, '--json')
    t.is(r.status, 0, r.stderr)
    const list = JSON.parse(r.stdout) as { flock: string; leader: string; members: Array<{ id: string; addr: string; leader: boolean }> }
    t.deepEqual(list.members.map((m) => m.addr).sort(), fs.map((f) => f.addr).sort())
    t.is(list.members.filter((m) => m.leader).length, 1)
    t.is(list.flock, fs[0]!.view()!.flock)
    const names = await crux('names', '--target', `127.77.${net}.1:23123`, '--secret-file', pool.secretFile, '--json')
    t.is(names.status, 0, names.stderr)
    // The leader's own gRPC address (a fulcrum serves it on its listen host, port 50059).
    const grpc = list.members.find((m) => m.leader)!.addr.replace(/:\d+$/, ':50059')
    t.like(JSON.parse(names.stdout), { flock: list.flock, members: n, leader: { id: list.leader }, steward: grpc, registry: grpc })
  })
}

test('a wrong secret gets no answer: the command times out with one clear line', async (t) => {
  const pool = new FulcrumPool(t)
  const fs = [1, 2].map((i) => pool.start(`127.77.29.${i}:23123`, '127.77.29.0/29'))
  await until(() => agreed(fs, 2), BOUND, 'one flock of 2')
  const wrong = join(pool.dir, 'wrong.secret')
  writeFileSync(wrong, generateSecret())
  const r = await crux('names', '--target', '127.77.29.1:23123', '--secret-file', wrong, '--timeout', '800ms')
  t.is(r.status, 1)
  t.is(r.stderr, 'crux: no answer from 127.77.29.1:23123 within 800 ms (a wrong secret, or no fulcrum there)\n')
})

test('crux admin reboot: the node reboots and comes back into the flock', async (t) => {
  const pool = new FulcrumPool(t)
  const fs = [1, 2, 3].map((i) => pool.start(`127.77.30.${i}:23123`, '127.77.30.0/29'))
  await until(() => agreed(fs, 3), BOUND, 'one flock of 3')
  const r = await crux('admin', 'reboot', '--target', '127.77.30.3:23123', '--secret-file', pool.secretFile)
  t.is(r.status, 0, r.stderr)
  await until(() => fs[2]!.view()!.role === 'rebooting', BOUND, 'the node rebooting')
  await until(() => agreed(fs, 3), BOUND, 'back to one flock of 3')
  t.pass()
})

test('bad Confab flags: one line, exit 2', (t) => {
  const r = spawnSync(process.execPath, ['dist/bin/crux.js', 'members', '--target', 'nowhere', '--secret-file', 'x'], { encoding: 'utf8' })
  t.is(r.status, 2)
  t.regex(r.stderr, /^crux: --target must be HOST:PORT/)
})
