/**
 * Configuration the usual way, for any command: every option can also come from a `CRUX_<FLAG>`
 * environment variable and from `--config FILE` (JSON or YAML, keys are flag names). A flag wins over
 * the environment, the environment over the file, the file over the default. Nothing here knows the
 * command's options: it reads them from commander when the command runs, so an option added later
 * is covered too, and every value goes through that option's own parser — validation stays with the
 * flag. Where a value came from is commander's option value source: `cli`, `env`, `config`, `default`.
 *
 * Commander's own `Option.env()` is not used: it takes any value of a variable for `true` on a flag
 * without a value (CRUX_JSON=false would turn it on), lets one variable drive only one of `--grpc`
 * and `--no-grpc`, and its errors do not name the variable.
 */
import { Option, type Command } from 'commander'
import { InvalidArgumentError } from '../runtime/errors.js'
import { configError, readConfigFile, type ConfigEntry } from './config-file.js'

/** One setting: the options sharing an attribute (`--grpc <HOST:PORT>` and `--no-grpc` are one). */
interface Setting {
  /** The flag's name without dashes or `no-`: the config file's key, and the variable's stem. */
  name: string
  attr: string
  /** The option that takes a value, if any. */
  value?: Option
  /** The `--no-NAME` option, if any. */
  off?: Option
}

const TRUE = /^(true|1|yes|on)$/i
const FALSE = /^(false|0|no|off)$/i

/**
 * Adds `--config FILE` to `cmd` and, before its action runs, fills every option the command line did
 * not give from `PREFIX<FLAG>` variables and then from the file. Call it once the options are
 * declared: options declared mandatory are checked here, after the environment and the file, since
 * commander checks them before any hook runs.
 */
export function configurable(cmd: Command, prefix = 'CRUX_'): Command {
  cmd.addOption(new Option('--config <FILE>', 'read flags from this JSON or YAML file, keys being flag names (see below)'))
  const mandatory = cmd.options.filter((o) => o.mandatory)
  for (const o of mandatory) o.mandatory = false
  cmd.addHelpText('after', () => helpText(cmd, prefix))
  cmd.hook('preAction', async () => {
    await applySources(cmd, prefix, process.env)
    for (const o of mandatory) {
      if (cmd.getOptionValue(o.attributeName()) !== undefined) continue
      const name = settingName(o)
      throw new InvalidArgumentError(`required option '${o.flags}' not specified (nor ${envName(prefix, name)}, nor ${name} in a --config file)`)
    }
  })
  return cmd
}

const settingName = (o: Option): string => (o.long ?? o.short ?? '').replace(/^--?(no-)?/, '')
const envName = (prefix: string, name: string): string => prefix + name.toUpperCase().replace(/-/g, '_')
const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
const metavar = (o: Option): string => /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? 'a value'
const isList = (o: Option): boolean => o.variadic || Array.isArray(o.defaultValue)
const takesValue = (o: Option): boolean => o.required || o.optional

function settingsOf(cmd: Command): Setting[] {
  const byAttr = new Map<string, Setting>()
  for (const o of cmd.options) {
    const name = settingName(o)
    if (name === 'config' || name === 'help' || name === 'version') continue
    const s = byAttr.get(o.attributeName()) ?? { name, attr: o.attributeName() }
    if (o.negate) s.off = o
    else s.value = o
    byAttr.set(s.attr, s)
  }
  return [...byAttr.values()]
}

/** Runs one option's own parser (commander passes the value so far, for options that collect). */
function parse(o: Option, raw: string, previous: unknown): unknown {
  return o.parseArg === undefined ? raw : o.parseArg(raw, previous)
}

/** A comma-separated list folded through the option's parser, as repeating the flag would. */
const parseList = (o: Option, items: readonly string[]): unknown => items.map((v) => v.trim()).filter((v) => v !== '').reduce<unknown>((acc, v) => parse(o, v, acc), o.defaultValue)

/** The value a variable's text sets, or an Error saying what is wrong with it. */
function fromEnv(s: Setting, raw: string): unknown {
  if (s.off !== undefined && FALSE.test(raw)) return false
  if (s.value === undefined || !takesValue(s.value)) {
    if (TRUE.test(raw)) return true
    if (FALSE.test(raw)) return false
    throw new Error('must be true or false')
  }
  if (s.off !== undefined && TRUE.test(raw)) return onValue(s)
  return isList(s.value) ? parseList(s.value, raw.split(',')) : parse(s.value, raw, s.value.defaultValue)
}

/** What "not turned off" means: true for a switch, a flag's default where it takes a value (`--grpc`). */
const onValue = (s: Setting): unknown => (s.value === undefined || !takesValue(s.value) ? true : s.value.defaultValue)

const kind = (v: unknown): string => (v === null ? 'nothing' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : JSON.stringify(v))

/**
 * The value a config file's entry sets (`negated`: the key was spelt `no-NAME`). A scalar is read
 * as the text a variable would hold, so a file and the environment mean the same by `false` or
 * `0123`; JSON's typed numbers and booleans are read the same way.
 */
function fromFile(s: Setting, v: unknown, negated: boolean): unknown {
  const scalar = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
  if (negated) {
    const off = scalar ? fromEnv({ name: s.name, attr: s.attr }, String(v)) : undefined
    if (typeof off !== 'boolean') throw new Error(`expected true or false, got ${kind(v)}`)
    return off ? false : onValue(s)
  }
  if (scalar) return fromEnv(s, String(v))
  const o = s.value
  if (Array.isArray(v) && o !== undefined && isList(o)) {
    const bad = v.find((x) => typeof x !== 'string' && typeof x !== 'number')
    if (bad !== undefined) throw new Error(`expected a list of ${metavar(o)}, got ${kind(bad)} in it`)
    return parseList(o, v.map(String))
  }
  if (o === undefined || !takesValue(o)) throw new Error(`expected true or false, got ${kind(v)}`)
  throw new Error(`expected ${isList(o) ? `${metavar(o)} or a list of them` : metavar(o)}${s.off === undefined ? '' : ' or false'}, got ${kind(v)}`)
}

/** Fills what the command line left unset: first from the environment, then from --config. */
export async function applySources(cmd: Command, prefix: string, env: NodeJS.ProcessEnv): Promise<void> {
  const settings = settingsOf(cmd)
  const open = (attr: string) => !['cli', 'env'].includes(cmd.getOptionValueSource(attr) ?? '')
  const configSetting: Setting = { name: 'config', attr: 'config', value: cmd.options.find((o) => o.long === '--config')! }
  for (const s of [configSetting, ...settings]) {
    const name = envName(prefix, s.name)
    const raw = env[name]
    // Unset and empty are alike: `CRUX_PROBE=` in a unit file or a container spec sets nothing.
    if (raw === undefined || raw === '' || !open(s.attr)) continue
    let value: unknown
    try {
      value = fromEnv(s, raw)
    } catch (err) {
      throw new InvalidArgumentError(`environment ${name}=${JSON.stringify(raw)}: ${err instanceof Error ? err.message : String(err)}`)
    }
    cmd.setOptionValueWithSource(s.attr, value, 'env')
  }
  const path = cmd.getOptionValue('config') as string | undefined
  if (path === undefined) return
  const seen = new Map<string, ConfigEntry>()
  for (const e of await readConfigFile(path)) {
    const negated = e.key.startsWith('no-') || /^no[A-Z]/.test(e.key)
    const bare = negated ? e.key.replace(/^no-?/, '').replace(/^[A-Z]/, (c) => c.toLowerCase()) : e.key
    const s = settings.find((x) => x.name === bare || camel(x.name) === bare)
    const problem = (what: string) => configError(path, e.line, `key ${JSON.stringify(e.key)}: ${what}`)
    if (e.key === 'config') throw problem('a config file cannot name another')
    if (s === undefined || (negated && s.off === undefined)) throw problem(`not a flag of crux ${cmd.name()} (crux ${cmd.name()} --help lists them)`)
    const before = seen.get(s.attr)
    if (before !== undefined) throw problem(`the same flag as key ${JSON.stringify(before.key)} on line ${before.line}`)
    seen.set(s.attr, e)
    let value: unknown
    try {
      value = fromFile(s, e.value, negated)
    } catch (err) {
      throw problem(err instanceof Error ? err.message : String(err))
    }
    // Checked even when a flag or a variable overrides it: a broken file is found the first time.
    if (open(s.attr)) cmd.setOptionValueWithSource(s.attr, value, 'config')
  }
}

/** The paragraph `--help` ends with, its examples taken from the command's own options. */
function helpText(cmd: Command, prefix: string): string {
  const settings = settingsOf(cmd)
  const named = settings.find((s) => s.value !== undefined && takesValue(s.value) && !isList(s.value))
  const list = settings.find((s) => s.value !== undefined && isList(s.value))
  const off = settings.find((s) => s.off !== undefined)
  const env = (s: Setting) => envName(prefix, s.name)
  const keys = [named && `${named.name}: ${metavar(named.value!)}`, list && `${list.name}: [A, B]`, off && `${off.name}: false`].filter(Boolean).join(', ')
  return wrap(
    `Configuration: every flag can also be given by an environment variable ${prefix}<FLAG>` +
    (named === undefined ? '' : ` (--${named.name}: ${env(named)})`) +
    (list === undefined ? '' : `; a repeatable flag takes a comma-separated list (${env(list)}=A,B)`) +
    (off === undefined ? '' : `; --no-${off.name} is ${env(off)}=false`) +
    `; a flag without a value takes true or false. Or in a --config FILE, JSON or YAML, keys being flag names in kebab-case or camelCase (${keys}). ` +
    `A flag wins over the environment, the environment over the file, the file over the default; ${prefix}CONFIG names the file too.`,
  )
}

/** Help text after the options, in lines of at most 100 columns as commander wraps its own. */
function wrap(text: string, width = 100): string {
  const lines = ['']
  for (const word of text.split(' ')) {
    if (lines.at(-1)!.length + word.length + 1 > width) lines.push(word)
    else lines[lines.length - 1] = lines.at(-1) === '' ? word : `${lines.at(-1)} ${word}`
  }
  return '\n' + lines.join('\n')
}
