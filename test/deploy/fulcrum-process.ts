/**
 * Real `crux fulcrum` processes for the deploy tests, started from the bundle as the deploy files
 * start them (settings in the environment or a --config file), and waited on by condition.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { ExecutionContext } from 'ava'
import { CRUX } from './deploy-files.js'

/** Starts `crux fulcrum ARGS` with exactly `env` (plus PATH); killed when the test ends. */
export function startFulcrum(t: ExecutionContext, env: Record<string, string>, args: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [CRUX, 'fulcrum', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  child.on('exit', (code) => code !== 0 && code !== null && t.log(`fulcrum ${[...args, env.CRUX_METRICS ?? ''].join(' ')} exited ${code}: ${err.trim()}`))
  t.teardown(() => void child.kill('SIGKILL'))
  return child
}

/** The status of GET url, or 0 when nothing answers. */
export const httpStatus = (url: string): Promise<number> => fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0)

/** Polls until `url` answers 200; fails at once if `child` exits meanwhile. */
export async function until200(child: ChildProcess, url: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while ((await httpStatus(url)) !== 200) {
    if (child.exitCode !== null) throw new Error(`the fulcrum exited ${child.exitCode} before ${url} answered 200`)
    if (Date.now() > end) throw new Error(`${url} did not answer 200 within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** The exit code of `child`, once it has exited. */
export const exitOf = (child: ChildProcess): Promise<number | null> =>
  new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))))
