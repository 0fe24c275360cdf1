/**
 * deploy/systemd: the unit's settings, and `systemd-analyze verify` where systemd is installed.
 * verify also checks that ExecStart's program exists, which /usr/local/bin/crux does not on a build
 * machine: it verifies a copy whose ExecStart is this checkout's bundle, everything else unchanged.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { deployEnvironment } from '../../bench/lib/deploy-env.js'
import { CRUX, dockerfile, envPairs, fulcrumEnvNames, METRICS_PORT, portOf, unitFile } from './deploy-files.js'

const UNIT = 'deploy/systemd/crux-fulcrum.service'
const service = () => unitFile(UNIT).get('Service')!
const one = (key: string): string => {
  const v = service().get(key)
  if (v === undefined || v.length !== 1) throw new Error(`${key}: ${JSON.stringify(v)}`)
  return v[0]!
}
/** The unit's Environment= lines as a map. */
const environment = () =>
  new Map(
    service()
      .get('Environment')!
      .map((line) => line.replace(/^"(.*)"$/, '$1'))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  )

test('state in StateDirectory, restarted on failure, configured by the environment', (t) => {
  t.is(one('Type'), 'simple')
  t.is(one('StateDirectory'), 'crux')
  t.is(environment().get('CRUX_DATA_DIR'), '%S/crux')
  t.is(one('Restart'), 'on-failure')
  t.is(one('RestartPreventExitStatus'), '2')
  // Optional (`-`), and after Environment= so that its values override the unit's.
  t.is(one('EnvironmentFile'), '-/etc/crux/fulcrum.env')
  // No flags on the command line: a flag would win over the environment file.
  t.regex(one('ExecStart'), /^\/\S+\/crux fulcrum$/)
  t.is(portOf(environment().get('CRUX_METRICS')!), METRICS_PORT)
})

test('the secret arrives as a credential and --secret-file names it', (t) => {
  const [name, source] = one('LoadCredential').split(':')
  t.is(source, '/etc/crux/flock.secret')
  t.is(environment().get('CRUX_SECRET_FILE'), `%d/${name}`)
})

test('hardened: no privileges, a read-only system, state the one writable path', (t) => {
  for (const [k, v] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['CapabilityBoundingSet', ''], ['ReadWritePaths', '%S/crux']] as const) {
    t.is(one(k), v, k)
  }
  t.not(one('User'), 'root')
  // V8 writes executable memory; this setting would kill every fulcrum at start.
  t.false(service().has('MemoryDenyWriteExecute'))
})

test('every CRUX_ variable of the unit and of the example environment file is a real fulcrum option', (t) => {
  const valid = fulcrumEnvNames()
  const example = readFileSync('deploy/systemd/fulcrum.env.example', 'utf8')
  const inExample = [...example.matchAll(/^#?(CRUX_[A-Z0-9_]+)=/gm)].map((m) => m[1]!)
  t.true(inExample.includes('CRUX_ADVERTISE') && inExample.includes('CRUX_PROBE'))
  const used = [...environment().keys()].filter((n) => n.startsWith('CRUX_'))
  for (const n of [...used, ...inExample]) t.true(valid.has(n), `${n} is not an option of crux fulcrum`)
})

/** systemd-analyze verify on a copy of `text` whose ExecStart runs this checkout's bundle. */
function verify(t: import('ava').ExecutionContext, text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'crux-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const copy = join(dir, 'crux-fulcrum.service')
  writeFileSync(copy, text.replace(/^ExecStart=\S+/m, `ExecStart=${resolve(CRUX)}`))
  return spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 60_000 })
}

test('systemd-analyze verify: no error and no warning', (t) => {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
    t.log('systemd-analyze is not installed: only the checks of the settings above ran')
    t.pass()
    return
  }
  const text = readFileSync(UNIT, 'utf8')
  const r = verify(t, text)
  t.is(r.status, 0, r.stderr)
  // verify exits 0 on an unknown key or a bad value and only says so: any output is a finding.
  t.is(`${r.stdout}${r.stderr}`.trim(), '')
  // The check can fail: a misspelled key is reported.
  const bad = verify(t, text.replace('ProtectSystem=strict', 'ProtectSysten=strict'))
  t.regex(bad.stderr, /Unknown key 'ProtectSysten'/)
})

test('the unit and the image give a fulcrum the same Node options and C heap settings, which bench/strew.ts starts it with', (t) => {
  const unit = environment()
  const image = new Map(dockerfile('deploy/Dockerfile').filter((i) => i.op === 'ENV').flatMap((i) => envPairs(i.args)))
  t.is(unit.get('NODE_OPTIONS'), '--max-semi-space-size=1')
  t.is(image.get('NODE_OPTIONS'), unit.get('NODE_OPTIONS'))
  t.is(unit.get('MALLOC_MMAP_THRESHOLD_'), '131072')
  t.is(image.get('MALLOC_MMAP_THRESHOLD_'), unit.get('MALLOC_MMAP_THRESHOLD_'))
  t.deepEqual(deployEnvironment(), { nodeFlags: ['--max-semi-space-size=1'], env: { MALLOC_MMAP_THRESHOLD_: '131072' } })
})
