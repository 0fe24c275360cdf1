/**
 * JSON for `--config FILE`, parsed here rather than by JSON.parse so that each error says on which
 * line it is (Node's messages give no position for some errors and quote the text across lines) and
 * each top-level key keeps its line. A key given twice at the top is refused: JSON.parse would keep
 * the last one silently.
 */

/** A syntax error at a 1-based line. */
export class JsonLineError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message)
  }
}

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const WORD = /true|false|null/y
const MAX_DEPTH = 32

/** The document, and the line of each key of its top-level object (empty unless it is one). */
export function parseJsonWithLines(text: string): { doc: unknown; lines: Map<string, number> } {
  let i = 0
  let line = 1
  const lines = new Map<string, number>()
  const fail = (what: string): never => {
    throw new JsonLineError(line, i >= text.length ? `unexpected end of the file: ${what}` : `${what}, found ${JSON.stringify(text[i])}`)
  }
  const space = () => {
    for (; i < text.length && ' \t\r\n'.includes(text[i]!); i++) if (text[i] === '\n') line++
  }
  const token = (re: RegExp): string | undefined => {
    re.lastIndex = i
    const m = re.exec(text)
    if (m === null) return undefined
    i += m[0].length
    return m[0]
  }
  /** After an item: true at the closing bracket, false at a comma (both consumed). */
  const next = (close: string): boolean => {
    space()
    const c = text[i]
    if (c !== ',' && c !== close) fail(`expected ',' or '${close}'`)
    i++
    return c === close
  }
  const value = (depth: number): unknown => {
    space()
    const c = text[i]
    // A config file is flat; the bound keeps a hostile one from exhausting the stack.
    if ((c === '{' || c === '[') && depth >= MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH}`)
    if (c === '{') return object(depth)
    if (c === '[') {
      i++
      const out: unknown[] = []
      space()
      if (text[i] === ']') {
        i++
        return out
      }
      do out.push(value(depth + 1))
      while (!next(']'))
      return out
    }
    if (c === '"') return JSON.parse(token(STRING) ?? fail('a string not closed on its line, or with a bad escape')) as string
    const n = token(NUMBER)
    if (n !== undefined) return Number(n)
    const w = token(WORD)
    if (w !== undefined) return w === 'null' ? null : w === 'true'
    return fail('expected a value')
  }
  const object = (depth: number): Record<string, unknown> => {
    i++
    const out: Record<string, unknown> = {}
    space()
    if (text[i] === '}') {
      i++
      return out
    }
    do {
      space()
      const keyLine = line
      if (text[i] !== '"') fail('expected a key in double quotes')
      const key = JSON.parse(token(STRING) ?? fail('a key not closed on its line, or with a bad escape')) as string
      if (depth === 0) {
        const seen = lines.get(key)
        if (seen !== undefined) throw new JsonLineError(keyLine, `key ${JSON.stringify(key)}: given twice (also line ${seen})`)
        lines.set(key, keyLine)
      }
      space()
      if (text[i] !== ':') fail("expected ':' after the key")
      i++
      // defineProperty: a key "__proto__" is a key like any other, not the object's prototype.
      Object.defineProperty(out, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true })
    } while (!next('}'))
    return out
  }
  const doc = value(0)
  space()
  if (i < text.length) fail('expected the end of the file')
  return { doc, lines }
}
