/**
 * `--config FILE`: a flat mapping of flag names to values, in JSON or YAML (by the extension, else
 * by the content: a `{` first means JSON). Each top-level key keeps the line it is on, so every
 * problem found later — an unknown key, a wrong type, a bad value — can be reported as one line
 * `config FILE line N: key "x": …` (bin/configurable.ts).
 */
import { readFileSync, statSync } from 'node:fs'
import { InvalidArgumentError } from '../runtime/errors.js'
import { JsonLineError, parseJsonWithLines } from './config-json.js'

/** A top-level key of the file: its value and its 1-based line. */
export interface ConfigEntry {
  key: string
  value: unknown
  line: number
}

/** Larger than any plausible set of flags: past it the file is not a config file. */
const MAX_BYTES = 1 << 20

/** The error for something wrong at a line of the file (exit 2, like any usage error). */
export function configError(path: string, line: number, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`config ${path} line ${line}: ${problem}`)
}

/** Reads and parses FILE; throws one `config FILE …` line for a file that cannot be read or parsed. */
export async function readConfigFile(path: string): Promise<ConfigEntry[]> {
  let text: string
  try {
    // Only a regular file: a FIFO or a device would block the read or never end it.
    const st = statSync(path)
    if (!st.isFile()) throw new Error('not a regular file')
    if (st.size > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`)
    // A byte-order mark, as some Windows editors write, is not content.
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new InvalidArgumentError(`config ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message}`)
  }
  const json = /\.json$/i.test(path) || (!/\.ya?ml$/i.test(path) && text.trimStart().startsWith('{'))
  return json ? parseJson(path, text) : parseYaml(path, text)
}

function entriesOf(path: string, doc: unknown, lines: Map<string, number>): ConfigEntry[] {
  if (doc === null || doc === undefined) return [] // an empty YAML file: nothing set
  if (typeof doc !== 'object' || Array.isArray(doc)) throw configError(path, 1, 'must be a mapping of flag names to values, e.g. secret-file: /etc/crux/flock.secret')
  return Object.entries(doc).map(([key, value]) => ({ key, value, line: lines.get(key) ?? 1 }))
}

function parseJson(path: string, text: string): ConfigEntry[] {
  try {
    const { doc, lines } = parseJsonWithLines(text)
    return entriesOf(path, doc, lines)
  } catch (err) {
    if (err instanceof JsonLineError) throw configError(path, err.line, err.message)
    throw err
  }
}

async function parseYaml(path: string, text: string): Promise<ConfigEntry[]> {
  const yaml = (await import('js-yaml')).default
  // js-yaml reports where each node opens and closes: a node directly under the top one, followed
  // by `:`, is a top-level key, and the line it opened on is the key's line.
  const lines = new Map<string, number>()
  const opened: number[] = []
  let doc: unknown
  try {
    doc = yaml.safeLoad(text, {
      // Every scalar as its text, as a variable holds it: the flag's parser reads it, so `0123`
      // stays 0123 (not octal 83) and nothing becomes a date or a float by looking like one.
      schema: yaml.FAILSAFE_SCHEMA,
      filename: path,
      listener(event, state) {
        if (event === 'open') return void opened.push(state.line)
        const line = opened.pop()!
        if (opened.length !== 1) return
        let i = state.position
        while (state.input[i] === ' ' || state.input[i] === '\t') i++
        const key = String(state.result)
        if (state.input[i] === ':' && !lines.has(key)) lines.set(key, line + 1)
      },
    })
  } catch (err) {
    if (err instanceof yaml.YAMLException) throw configError(path, (err.mark?.line ?? 0) + 1, err.reason)
    throw err
  }
  return entriesOf(path, doc, lines)
}
