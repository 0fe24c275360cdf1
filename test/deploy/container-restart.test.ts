/**
 * A fulcrum in a container is pid 1 of its own pid namespace, and so is the one that replaces it
 * after a crash (docker's restart policy, a pod's restart): the data dir lock then names pid 1, a live
 * process, and must still be seen as stale, or the node could never come back. Run with unshare(1) as
 * a container engine would (root only; skipped elsewhere).
 */
import test from 'ava'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateSecret } from '../../runtime/secret.js'
import { CRUX } from './deploy-files.js'

const ADDR = '127.77.140.9'
const canUnshare = () => process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0

/** `crux fulcrum` as pid 1 of a new pid namespace; SIGKILL to the returned process kills it too. */
function inContainer(t: import('ava').ExecutionContext, env: Record<string, string>): { child: ChildProcess; out: () => string } {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', process.execPath, resolve(CRUX), 'fulcrum'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  t.teardown(() => void child.kill('SIGKILL'))
  return { child, out: () => out }
}

async function healthy(child: ChildProcess, url: string, out: () => string): Promise<void> {
  const end = Date.now() + 30_000
  for (;;) {
    const s = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0)
    if (s === 200) return
    if (child.exitCode !== null || Date.now() > end) throw new Error(`${url} never answered 200: ${out()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

test('a fulcrum killed as pid 1 of its container starts again on its data dir', async (t) => {
  if (!canUnshare()) {
    t.log('needs root and unshare(1) with pid namespaces: not run')
    t.pass()
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'crux-pid1-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'flock.secret'), generateSecret(), { mode: 0o600 })
  const env = { CRUX_SECRET_FILE: join(dir, 'flock.secret'), CRUX_DATA_DIR: join(dir, 'data'), CRUX_LISTEN: `${ADDR}:23123`, CRUX_METRICS: `${ADDR}:23124`, CRUX_GRPC: `${ADDR}:50059`, CRUX_PROBE: `${ADDR}:23123` }
  const healthz = `http://${ADDR}:23124/healthz`
  const first = inContainer(t, env)
  await healthy(first.child, healthz, first.out)
  t.is(JSON.parse(readFileSync(join(dir, 'data', 'lock'), 'utf8')).pid, 1)
  // A crash: no leave, no lock released.
  first.child.kill('SIGKILL')
  await new Promise((r) => first.child.once('exit', r))
  // The namespace's pid 1 dies with its parent (--kill-child): wait until its port is closed.
  for (let i = 0; i < 100 && (await fetch(healthz, { signal: AbortSignal.timeout(500) }).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100))
  const second = inContainer(t, env)
  await healthy(second.child, healthz, second.out)
  t.regex(second.out(), /took over the data dir lock/)
  t.is(JSON.parse(readFileSync(join(dir, 'data', 'lock'), 'utf8')).pid, 1)
})
