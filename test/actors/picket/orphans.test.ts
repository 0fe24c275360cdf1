/**
 * A fulcrum killed with SIGKILL leaves none of its services running: a real parent process runs a
 * service through the run edge and is killed with kill -9; the service must be gone within 2 s.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { findSetpriv } from '../../../actors/picket/child.js'
import { alivePid, tmp } from './harness.js'

const PARENT = fileURLToPath(new URL('../../fixtures/picket/parent.js', import.meta.url))

/** Starts the stand-in fulcrum running `fixture`; resolves with its pid and the service's once the service beats. */
async function parentRunning(t: import('ava').ExecutionContext, fixture: string, death: 'on' | 'off', env: Record<string, string> = {}) {
  const parent = spawn(process.execPath, [PARENT, tmp(t), fixture, death, JSON.stringify(env)], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => parent.kill('SIGKILL'))
  const child = await new Promise<number>((resolve, reject) => {
    let out = ''
    parent.stdout.setEncoding('utf8')
    parent.stdout.on('data', (s: string) => {
      out += s
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve((JSON.parse(out.slice(0, nl)) as { pid: number }).pid)
    })
    parent.on('exit', (code) => reject(new Error(`the parent exited ${code} before its service beat`)))
  })
  t.teardown(() => {
    if (alivePid(child)) process.kill(child, 'SIGKILL')
  })
  return { parent, child }
}

/** Whether `pid` is gone within `ms`. */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (!alivePid(pid)) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return !alivePid(pid)
}

test('a service exits when its fulcrum is killed with SIGKILL (its channel closes)', async (t) => {
  const { parent, child } = await parentRunning(t, 'echo', 'off')
  t.true(alivePid(child))
  process.kill(parent.pid!, 'SIGKILL')
  t.true(await goneWithin(child, 2000))
})

const withSetpriv = findSetpriv() === null ? test.skip : test

withSetpriv('a service stuck in a busy loop is killed by the kernel when its fulcrum is killed', async (t) => {
  const { parent, child } = await parentRunning(t, 'hang', 'on', { HANG_BUSY: '1' })
  // It beat just before its loop: it is spinning now.
  process.kill(parent.pid!, 'SIGKILL')
  t.true(await goneWithin(child, 2000))
})

test('without the death signal, a service in a busy loop outlives its fulcrum (why the signal is set)', async (t) => {
  const { parent, child } = await parentRunning(t, 'hang', 'off', { HANG_BUSY: '1' })
  process.kill(parent.pid!, 'SIGKILL')
  t.false(await goneWithin(child, 500))
  process.kill(child, 'SIGKILL')
})
