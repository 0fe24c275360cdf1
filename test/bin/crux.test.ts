import test from 'ava'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const crux = (...args: string[]) => spawnSync(process.execPath, ['dist/bin/crux.js', ...args], { encoding: 'utf8', timeout: 30_000 })

test('crux version --json prints name, version, node and machine versions', (t) => {
  const r = crux('version', '--json')
  t.is(r.status, 0)
  const v = JSON.parse(r.stdout)
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
  t.is(v.name, 'crux')
  t.is(v.version, pkg.version)
  t.is(v.node, process.versions.node)
  t.is(v.xstate, pkg.dependencies.xstate)
  t.deepEqual(typeof v.machines, 'object')
})

test('crux --help explains the commands and exits 0', (t) => {
  const r = crux('--help')
  t.is(r.status, 0)
  t.regex(r.stdout, /Usage: crux/)
  t.regex(r.stdout, /version/)
})

test('crux version --help shows an example', (t) => {
  const r = crux('version', '--help')
  t.is(r.status, 0)
  t.regex(r.stdout, /Example:\n\s+crux version --json/)
})

test('an unknown command is one line on stderr and exit 2', (t) => {
  const r = crux('no-such-command')
  t.is(r.status, 2)
  t.is(r.stderr.trim().split('\n').length, 1)
  t.regex(r.stderr, /^crux: unknown command 'no-such-command'/)
})

test('an unknown flag is one line on stderr and exit 2', (t) => {
  const r = crux('version', '--frobnicate')
  t.is(r.status, 2)
  t.regex(r.stderr, /^crux: unknown option '--frobnicate'.*\n$/)
})

test('a reader that closes early (crux … | head) is not a crash', async (t) => {
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, ['dist/bin/crux.js', 'sim', '--nodes', '200', '--progress'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  await new Promise<void>((resolve) => {
    child.stderr.once('data', (d: Buffer) => {
      stderr += d.toString()
      child.stderr.destroy() // like `head -1` on stderr
      resolve()
    })
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  t.is(code, 0)
  t.notRegex(stderr, /EPIPE|Unhandled/)
})

test('the bundle (dist/bin/crux.bundle.mjs, what the package installs) answers like the modules it was made from', (t) => {
  const run = (file: string, ...args: string[]) => spawnSync(process.execPath, [file, ...args], { encoding: 'utf8' })
  for (const args of [['version', '--json'], ['--help'], ['fulcrum', '--help'], ['nonsense']]) {
    const a = run('dist/bin/crux.js', ...args)
    const b = run('dist/bin/crux.bundle.mjs', ...args)
    t.is(b.status, a.status, args.join(' '))
    t.is(b.stdout, a.stdout, args.join(' '))
    t.is(b.stderr, a.stderr, args.join(' '))
  }
})
