/**
 * The files `crux khan` reads: a program, NODES.json and CURRENT.json (CLI.md, Placement). A file that
 * cannot be read is a usage error (exit 2); one that is not JSON, or not of the documented shape, is a
 * failure (exit 1) told in one line that names the file and, for bad JSON, the line and column.
 */
import { readFileSync } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import type { KhanNode, Placement } from '../../machines/khan/solver.js'

/** Bad contents of an input file: one line, exit 1. */
export class KhanInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KhanInputError'
  }
}

/** The text of `file`, or a usage error naming why it cannot be read. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/** Parses `file` as JSON; a syntax error names the line and column it was found at. */
export function readJson(file: string): unknown {
  const text = readText(file)
  try {
    return JSON.parse(text)
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]!
    const at = /at position (\d+)/.exec(message)
    if (at === null) throw new KhanInputError(`${file}: not JSON: ${message}`)
    const before = text.slice(0, Number(at[1]))
    const line = before.split('\n').length
    const col = before.length - before.lastIndexOf('\n')
    throw new KhanInputError(`${file}:${line}:${col}: not JSON: ${message.replace(/\s*(in JSON )?at position \d+.*$/, '')}`)
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** NODES.json: `[{"id":str,"labels":[str]}]`, ids distinct and non-empty; `labels` may be left out. */
export function readNodes(file: string): KhanNode[] {
  const v = readJson(file)
  if (!Array.isArray(v)) throw new KhanInputError(`${file}: expected a list of nodes [{"id":str,"labels":[str]}], got ${kind(v)}`)
  const seen = new Set<string>()
  return v.map((x, i) => {
    const where = `${file}: node ${i + 1}`
    if (!isObject(x)) throw new KhanInputError(`${where}: expected {"id":str,"labels":[str]}, got ${kind(x)}`)
    if (typeof x.id !== 'string' || x.id === '') throw new KhanInputError(`${where}: "id" must be a non-empty string`)
    if (seen.has(x.id)) throw new KhanInputError(`${where}: the id ${JSON.stringify(x.id)} is given twice`)
    seen.add(x.id)
    const labels = x.labels ?? []
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw new KhanInputError(`${where} (${x.id}): "labels" must be a list of strings`)
    return { id: x.id, labels }
  })
}

/** CURRENT.json: `{"SERVICE":{"NODE_ID":count}}`, counts whole and not negative. */
export function readPlacement(file: string): Placement {
  const v = readJson(file)
  if (!isObject(v)) throw new KhanInputError(`${file}: expected {"SERVICE":{"NODE_ID":count}}, got ${kind(v)}`)
  for (const [svc, per] of Object.entries(v)) {
    if (!isObject(per)) throw new KhanInputError(`${file}: ${JSON.stringify(svc)}: expected {"NODE_ID":count}, got ${kind(per)}`)
    for (const [id, c] of Object.entries(per)) if (!Number.isSafeInteger(c) || (c as number) < 0) throw new KhanInputError(`${file}: ${JSON.stringify(svc)} on ${JSON.stringify(id)}: expected a whole count of 0 or more, got ${JSON.stringify(c)}`)
  }
  return v as Placement
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`
}
