/**
 * The steward's rules from a file (`crux fulcrum --rules FILE`): a JSON list of
 * `{"horde": "NAME" | "*", "from": "SERVICE", "to": "SERVICE"}` — a service `from` in `horde` may see
 * the endpoints of service `to` (original-crux.md §4.5, registrydb's allowed pairs). Checked whole:
 * one bad entry is an error naming it, never a partly applied list.
 */
import { readFileSync } from 'node:fs'
import { goodId } from '../../machines/strew/ids.js'
import type { Rule } from '../../machines/steward/types.js'
import { InvalidArgumentError } from '../../runtime/errors.js'

const HORDE = /^([A-Za-z0-9._-]{1,64}|\*)$/

/** Parses and checks a rules list (the file's text). */
export function parseRules(text: string, where = 'rules'): Rule[] {
  let list: unknown
  try {
    list = JSON.parse(text)
  } catch {
    throw new InvalidArgumentError(`${where} is not JSON`)
  }
  if (!Array.isArray(list)) throw new InvalidArgumentError(`${where} must be a JSON list of {"horde","from","to"}`)
  if (list.length > 10_000) throw new InvalidArgumentError(`${where} has ${list.length} rules; at most 10 000`)
  return list.map((r: unknown, i) => {
    const o = r as Record<string, unknown>
    if (typeof o !== 'object' || o === null || typeof o.horde !== 'string' || typeof o.from !== 'string' || typeof o.to !== 'string') throw new InvalidArgumentError(`${where}[${i}] must be {"horde","from","to"}, all strings`)
    if (!HORDE.test(o.horde)) throw new InvalidArgumentError(`${where}[${i}].horde ${JSON.stringify(o.horde)} must be a horde name or "*"`)
    for (const k of ['from', 'to'] as const) {
      const v = o[k] as string
      if (v === '' || !goodId(v)) throw new InvalidArgumentError(`${where}[${i}].${k} ${JSON.stringify(v)} must be a service name (an upper-case letter, then letters, digits, _)`)
    }
    return { horde: o.horde, from: o.from as string, to: o.to as string }
  })
}

/** Reads `file` as a rules list. */
export function readRulesFile(file: string): Rule[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new InvalidArgumentError(`cannot read --rules ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  return parseRules(text, `--rules ${file}`)
}
