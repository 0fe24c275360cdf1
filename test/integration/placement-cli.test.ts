/**
 * `crux placement apply|ls` fail fast and in one line (CLI.md, Placement): a program that does not
 * check fails before anything is dialled, with FILE:LINE:COL (exit 1); a placed service without a
 * bundle, a malformed --bundle or one for a service the program does not place is a usage error (exit
 * 2); a data dir without a node key is one line naming it (exit 2). Nothing is dialled (127.79.81.1).
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const CRUX = 'dist/bin/crux.bundle.mjs'
const dir = mkdtempSync(join(tmpdir(), 'crux-placement-'))
const file = (name: string, text: string) => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}
const crux = (...args: string[]) => spawnSync(process.execPath, [CRUX, 'placement', ...args], { encoding: 'utf8', timeout: 30_000 })
const H = `sha256:${'a'.repeat(64)}`
const GOOD = file('web.khan', 'pick(web, 2, ALL)\n')
const far = ['--target', '127.79.81.1:50059', '--data-dir', dir]

test('a program that does not check fails before dialling, with FILE:LINE:COL, exit 1', (t) => {
  const bad = file('bad.khan', 'pick(web, ALL, 1)\n')
  const r = crux('apply', bad, '--bundle', `web=${H}`, ...far)
  t.is(r.status, 1)
  t.regex(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:1:11: expected a count`))
  t.notRegex(r.stderr, /127\.79\.81\.1/)
})

test('bundles: missing, malformed, or for a service the program does not place are usage errors, exit 2, one line', (t) => {
  for (const [args, re] of [
    [[], /places web with no bundle: give --bundle web=sha256:/],
    [['--bundle', 'web=sha256:12'], /--bundle takes SERVICE=sha256:<64 hex>/],
    [['--bundle', `web=${H}`, '--bundle', `db=${H}`], /--bundle db: .* does not place db/],
  ] as const) {
    const r = crux('apply', GOOD, ...args, ...far)
    t.is(r.status, 2, r.stderr)
    t.regex(r.stderr, re)
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
})

test('a --data-dir that holds no node key: one line naming it, exit 2, for apply and ls', (t) => {
  for (const r of [crux('apply', GOOD, '--bundle', `web=${H}`, ...far), crux('ls', ...far)]) {
    t.is(r.status, 2)
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    t.true(r.stderr.includes(`no node key in ${dir}`), r.stderr)
  }
})

test('--help explains apply and ls, with an example', (t) => {
  const r = crux('apply', '--help')
  t.is(r.status, 0)
  t.regex(r.stdout, /--bundle <SERVICE=HASH>/)
  t.regex(r.stdout, /Example:/)
  t.regex(crux('ls', '--help').stdout, /--json/)
})
