/** Reads crux's own package.json (and the installed xstate's) once, relative to this file, not the cwd. */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

let cached: { name: string; version: string; xstate: string } | undefined

export function packageInfo(): { name: string; version: string; xstate: string } {
  if (cached !== undefined) return cached
  // dist/bin/package-info.js → ../../package.json
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string }
  const require = createRequire(import.meta.url)
  const xs = JSON.parse(readFileSync(require.resolve('xstate/package.json'), 'utf8')) as { version: string }
  cached = { name: pkg.name, version: pkg.version, xstate: xs.version }
  return cached
}
