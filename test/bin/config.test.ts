/**
 * `crux fulcrum`'s flags from CRUX_<FLAG> variables and from --config FILE (bin/configurable.ts):
 * precedence flag > environment > file > default, every value through its flag's own parser, and
 * one line naming the variable, or the file, line and key, for anything wrong. The resolution is
 * checked on the real fulcrum command with its action replaced; the last tests run the real CLI.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { registerFulcrum } from '../../bin/commands/fulcrum.js'
import { configurable } from '../../bin/configurable.js'

const dir = mkdtempSync(join(tmpdir(), 'crux-config-'))
const file = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

interface Resolved {
  opts: Record<string, unknown>
  source: (attr: string) => string | undefined
}

/**
 * Parses `crux fulcrum ARGS` under the variables `env` (the process's own are set for the call:
 * the tests are serial) and returns the options the action would have got, or throws.
 */
async function resolve(args: string[], env: Record<string, string> = {}): Promise<Resolved> {
  for (const k of Object.keys(process.env)) if (k.startsWith('CRUX_')) delete process.env[k]
  Object.assign(process.env, env)
  try {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {} })
    registerFulcrum(program)
    const cmd = program.commands.find((c) => c.name() === 'fulcrum')!
    let opts: Record<string, unknown> = {}
    cmd.action((o: Record<string, unknown>) => void (opts = o))
    await program.parseAsync(['fulcrum', ...args], { from: 'user' })
    return { opts, source: (attr) => cmd.getOptionValueSource(attr) }
  } finally {
    for (const k of Object.keys(env)) delete process.env[k]
  }
}

const SECRET = ['--secret-file', '/nonexistent/flock.secret']

/** The same on a command made here: the mechanism knows no command's options in advance. */
async function resolveOther(args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  for (const [k, v] of Object.entries(env)) process.env[k] = v
  try {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {} })
    let opts: Record<string, unknown> = {}
    const cmd = program
      .command('other')
      .option('--json', 'a switch')
      .option('--no-viz', 'a switch that is on by default')
      .option('--tag <T>', 'repeatable', (v: string, all: string[]) => [...all, v.toUpperCase()], [] as string[])
      .action((o: Record<string, unknown>) => void (opts = o))
    configurable(cmd)
    await program.parseAsync(['other', ...args], { from: 'user' })
    return opts
  } finally {
    for (const k of Object.keys(env)) delete process.env[k]
  }
}

test.serial('any command: switches take true or false from a variable or a file, lists go through the flag’s own parser', async (t) => {
  t.like(await resolveOther([], { CRUX_JSON: 'false', CRUX_VIZ: 'off', CRUX_TAG: 'a,b' }), { json: false, viz: false, tag: ['A', 'B'] })
  t.like(await resolveOther([], { CRUX_JSON: 'yes' }), { json: true, viz: true, tag: [] })
  t.like(await resolveOther(['--config', file('other.yaml', 'json: true\nno-viz: true\ntag: [x]\n')]), { json: true, viz: false, tag: ['X'] })
  t.like(await resolveOther(['--json', '--config', file('other2.json', '{"json": false, "viz": false}')]), { json: true, viz: false })
  const e = await t.throwsAsync(resolveOther([], { CRUX_JSON: 'maybe' }))
  t.is(e!.message, 'environment CRUX_JSON="maybe": must be true or false')
  const f = await t.throwsAsync(resolveOther(['--config', file('other3.yaml', 'viz: maybe\n')]))
  t.is(f!.message.replace(/^config \S+ /, ''), 'line 1: key "viz": must be true or false')
  const g = await t.throwsAsync(resolveOther(['--config', file('other4.json', '{"json": [true]}')]))
  t.regex(g!.message, /line 1: key "json": expected true or false, got a list$/)
  t.like(await resolveOther(['--config', file('other5.json', '{"json": "yes", "viz": 0}')]), { json: true, viz: false })
})

test.serial('crux fulcrum --help tells of the variables and the file', (t) => {
  const r = spawnSync(process.execPath, ['dist/bin/crux.bundle.mjs', 'fulcrum', '--help'], { encoding: 'utf8' })
  t.regex(r.stdout, /--config <FILE>/)
  t.regex(r.stdout.replace(/\s+/g, ' '), /environment variable CRUX_<FLAG>.*CRUX_PROBE=A,B.*--no-grpc is CRUX_GRPC=false.*A flag wins over the environment, the environment over the file/)
})

test.serial('a config file overrides the defaults, each value through its flag’s parser (YAML)', async (t) => {
  const f = file('a.yaml', '# a node\nheartbeat: 2s\nprobe:\n  - 127.77.110.0/29\n  - 127.77.111.1:23123\nlisten: 127.77.110.1:23124\nlog-level: warn\n')
  const r = await resolve([...SECRET, '--config', f])
  t.is(r.opts.heartbeat, 2000)
  t.is(r.source('heartbeat'), 'config')
  t.deepEqual(r.opts.probe, ['127.77.110.0/29', '127.77.111.1:23123'])
  t.deepEqual(r.opts.listen, { host: '127.77.110.1', port: 23124 })
  t.is(r.opts.logLevel, 'warn')
  t.is(r.opts.ring, 10_000, 'what the file does not name keeps its default')
  t.is(r.source('ring'), 'default')
})

test.serial('a YAML scalar is read as its text, as a variable would hold it: 0123 is not octal, off is false', async (t) => {
  const r = await resolve([...SECRET, '--config', file('text.yaml', 'horde: 0123\ndata-dir: 1e3\ngrpc: off\n')])
  t.like(r.opts, { horde: '0123', dataDir: '1e3', grpc: false })
})

test.serial('the same in JSON, with camelCase keys; a mandatory flag may come from the file', async (t) => {
  const f = file('a.json', '{\n  "secretFile": "/etc/crux/flock.secret",\n  "heartbeat": 750,\n  "grpc": false\n}\n')
  const r = await resolve(['--config', f])
  t.is(r.opts.secretFile, '/etc/crux/flock.secret')
  t.is(r.opts.heartbeat, 750, 'a bare number keeps the metavar’s unit: MS')
  t.is(r.opts.grpc, false)
})

test.serial('the environment overrides the file, and a flag overrides the environment', async (t) => {
  const f = file('b.yaml', 'heartbeat: 2s\nprobe: [127.77.112.0/29]\nring: 50\n')
  const env = { CRUX_HEARTBEAT: '3s', CRUX_PROBE: '127.77.113.1:23123', CRUX_SECRET_FILE: '/env/secret' }
  const r = await resolve(['--config', f, '--probe', '127.77.114.1:23123'], env)
  t.is(r.opts.heartbeat, 3000)
  t.is(r.source('heartbeat'), 'env')
  t.deepEqual(r.opts.probe, ['127.77.114.1:23123'], 'a flag replaces the list, it does not add to it')
  t.is(r.source('probe'), 'cli')
  t.is(r.opts.ring, 50)
  t.is(r.opts.secretFile, '/env/secret')
  const flag = await resolve(['--config', f, '--heartbeat', '400ms', ...SECRET], env)
  t.is(flag.opts.heartbeat, 400)
  t.is(flag.opts.secretFile, '/nonexistent/flock.secret')
})

test.serial('a repeatable flag takes a comma-separated list from the environment', async (t) => {
  const r = await resolve(SECRET, { CRUX_PROBE: '127.77.110.0/29, 127.77.111.1:23123,,@/etc/crux/peers' })
  t.deepEqual(r.opts.probe, ['127.77.110.0/29', '127.77.111.1:23123', '@/etc/crux/peers'])
})

test.serial('--no-grpc is CRUX_GRPC=false, or grpc: false / no-grpc: true in a file; CRUX_GRPC may also name the address', async (t) => {
  t.is((await resolve(SECRET, { CRUX_GRPC: 'false' })).opts.grpc, false)
  t.deepEqual((await resolve(SECRET, { CRUX_GRPC: '127.77.110.1:50059' })).opts.grpc, { host: '127.77.110.1', port: 50059 })
  t.is((await resolve([...SECRET, '--config', file('g.yaml', 'no-grpc: true\n')])).opts.grpc, false)
  const on = await resolve([...SECRET, '--config', file('g2.yaml', 'grpc: false\n')], { CRUX_GRPC: 'true' })
  t.is(on.opts.grpc, undefined, 'CRUX_GRPC=true: on, at its default address, over the file')
  t.is(on.source('grpc'), 'env')
})

test.serial('variables that name no flag are ignored; an empty one sets nothing', async (t) => {
  const r = await resolve(SECRET, { CRUX_NOT_A_FLAG: 'x', CRUX_HEARTBEAT: '' })
  t.is(r.opts.heartbeat, 1000)
})

test.serial('a bad CRUX_ value is one line naming the variable', async (t) => {
  const e = await t.throwsAsync(resolve(SECRET, { CRUX_HEARTBEAT: 'soon' }))
  t.regex(e!.message, /^environment CRUX_HEARTBEAT="soon": --heartbeat must be a duration/)
  const g = await t.throwsAsync(resolve(SECRET, { CRUX_LISTEN: 'nowhere' }))
  t.regex(g!.message, /^environment CRUX_LISTEN="nowhere": --listen must be HOST:PORT/)
})

const problems: Array<[string, string, RegExp]> = [
  ['unknown.yaml', 'heartbeat: 1s\n\nhartbeat: 2s\n', /^config \S+unknown\.yaml line 3: key "hartbeat": not a flag of crux fulcrum/],
  ['value.yaml', 'probe:\n  - 127.77.110.0/29\nlisten: 127.77.110.1:99999\n', /^config \S+value\.yaml line 3: key "listen": --listen must be HOST:PORT, got "127\.77\.110\.1:99999"/],
  ['type.yaml', 'heartbeat: 1s\nprobe: {a: 1}\n', /^config \S+type\.yaml line 2: key "probe": expected SPEC or a list of them, got a mapping/],
  ['list.yaml', 'heartbeat: [1s, 2s]\n', /^config \S+list\.yaml line 1: key "heartbeat": expected MS, got a list/],
  ['syntax.yaml', 'heartbeat: 1s\nprobe: [a,\n', /^config \S+syntax\.yaml line 3: unexpected end of the stream within a flow collection/],
  ['twice.yaml', 'secret-file: a\nsecretFile: b\n', /^config \S+twice\.yaml line 2: key "secretFile": the same flag as key "secret-file" on line 1/],
  ['level.yaml', 'heartbeat: 1s\nlog-level: loud\n', /^config \S+level\.yaml line 2: key "log-level": --log-level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/],
  ['horde.json', '{\n  "horde": "a b"\n}\n', /^config \S+horde\.json line 2: key "horde": --horde must be 1–64 of letters, digits/],
  ['value.json', '{\n  "ring": 5,\n\n  "heartbeat": "fast"\n}\n', /^config \S+value\.json line 4: key "heartbeat": --heartbeat must be a duration/],
  ['unknown.json', '{"ring": 5,\n "listen": "127.77.110.1:1",\n "nodes": 3}', /^config \S+unknown\.json line 3: key "nodes": not a flag/],
  ['syntax.json', '{\n  "ring": 5,\n  "heartbeat": \n}\n', /^config \S+syntax\.json line 4: /],
  ['twice.json', '{\n  "ring": 5,\n  "ring": 6\n}\n', /^config \S+twice\.json line 3: key "ring": given twice \(also line 2\)/],
  ['scalar.yaml', 'just words\n', /^config \S+scalar\.yaml line 1: must be a mapping of flag names to values/],
  ['nested.yaml', 'config: other.yaml\n', /^config \S+nested\.yaml line 1: key "config": a config file cannot name another/],
]
for (const [name, text, expected] of problems) {
  test.serial(`a bad config file is one line naming the file, line and key: ${name}`, async (t) => {
    const e = await t.throwsAsync(resolve([...SECRET, '--config', file(name, text)]))
    t.regex(e!.message, expected)
    t.false(e!.message.includes('\n'))
  })
}

test.serial('a file value is checked even where a variable overrides it', async (t) => {
  const e = await t.throwsAsync(resolve([...SECRET, '--config', file('over.yaml', 'heartbeat: 5\n')], { CRUX_HEARTBEAT: '1s' }))
  t.regex(e!.message, /line 1: key "heartbeat": --heartbeat must be from 50ms/)
})

test.serial('without --secret-file anywhere the error names the flag, the variable and the key', async (t) => {
  const e = await t.throwsAsync(resolve([]))
  t.is(e!.message, "required option '--secret-file <F>' not specified (nor CRUX_SECRET_FILE, nor secret-file in a --config file)")
})

test.serial('a config file that is missing or not a file is one line', async (t) => {
  t.regex((await t.throwsAsync(resolve([...SECRET, '--config', join(dir, 'absent.yaml')])))!.message, /^config \S+absent\.yaml: no such file$/)
  t.regex((await t.throwsAsync(resolve([...SECRET, '--config', dir])))!.message, /: not a regular file$/)
})

// The real CLI: which secret file it tried to read shows which source won (none exists: exit 2).
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['dist/bin/crux.bundle.mjs', 'fulcrum', ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } })

test.serial('crux fulcrum: flag > CRUX_ variable > --config file (CRUX_CONFIG names the file)', (t) => {
  const f = file('e2e.yaml', 'secret-file: /nonexistent/from-file\nlisten: 127.77.115.1:0\n')
  const fromFile = cli([], { CRUX_CONFIG: f })
  t.is(fromFile.status, 2)
  t.regex(fromFile.stderr, /^crux: cannot read secret file \/nonexistent\/from-file/)
  const fromEnv = cli(['--config', f], { CRUX_SECRET_FILE: '/nonexistent/from-env' })
  t.regex(fromEnv.stderr, /^crux: cannot read secret file \/nonexistent\/from-env/)
  const fromFlag = cli(['--config', f, '--secret-file', '/nonexistent/from-flag'], { CRUX_SECRET_FILE: '/nonexistent/from-env' })
  t.regex(fromFlag.stderr, /^crux: cannot read secret file \/nonexistent\/from-flag/)
})

test.serial('crux fulcrum --config with a bad key: one line naming it, exit 2', (t) => {
  const r = cli(['--config', file('bad.yaml', 'secret-file: /x\nprobe: 127.77.110.0/29\nbeacon: here\n')])
  t.is(r.status, 2)
  t.regex(r.stderr, /^crux: config \S+bad\.yaml line 3: key "beacon": --beacon must be HOST:PORT, got "here"\n$/)
  const env = cli(['--secret-file', '/x'], { CRUX_RING: '0' })
  t.is(env.status, 2)
  t.regex(env.stderr, /^crux: environment CRUX_RING="0": --ring must be an integer in \[1, 10000000\], got "0"\n$/)
})

test.serial('a local flock (crux demo) is configured by its arguments alone: CRUX_ variables meant for a real node do not reach it', (t) => {
  const r = spawnSync(process.execPath, ['dist/bin/crux.bundle.mjs', 'demo', '--base', '127.77.117.1', '--nodes', '1', '--no-viz', '--exit-when-agreed', '--json', '--timeout', '60s'], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, CRUX_GRPC: 'not-an-address', CRUX_SECRET_FILE: '/nonexistent/secret' },
  })
  t.is(r.status, 0, r.stderr)
  t.is(JSON.parse(r.stdout).members.length, 1)
})
