/** bin/config-json.ts: JSON as JSON.parse reads it, with the line of each top-level key and of each error. */
import test from 'ava'
import fc from 'fast-check'
import { JsonLineError, parseJsonWithLines } from '../../bin/config-json.js'

test('any JSON document parses to what JSON.parse gives, compact or indented', (t) => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(0, 2, '\t'), (v, indent) => {
      const text = JSON.stringify(v, null, indent)
      t.deepEqual(parseJsonWithLines(text).doc, JSON.parse(text))
    }),
  )
})

test('each top-level key keeps its line; nested keys are not top-level', (t) => {
  const { lines } = parseJsonWithLines('{\n  "a": 1,\n  "b": {\n    "c": 2\n  },\n\n  "d": ["x",\n "y"]\n}\n')
  t.deepEqual([...lines], [['a', 2], ['b', 3], ['d', 7]])
})

const line = (text: string): number => {
  try {
    parseJsonWithLines(text)
  } catch (err) {
    if (err instanceof JsonLineError) return err.line
    throw err
  }
  return 0
}

test('an error names its line: a missing value, a missing comma, a key twice, trailing text, an unclosed string', (t) => {
  t.is(line('{\n  "a": \n}\n'), 3)
  t.is(line('{\n  "a": 1\n  "b": 2\n}'), 3)
  t.is(line('{\n"a": 1,\n\n"a": 2}'), 4)
  t.is(line('{"a": 1}\n\nx'), 3)
  t.is(line('{\n"a": "open\n}'), 2)
  t.is(line('{"a": 1,\n'), 2)
})

test('deep nesting is an error, not a stack overflow; "__proto__" is an ordinary key', (t) => {
  t.throws(() => parseJsonWithLines('['.repeat(100_000)), { instanceOf: JsonLineError, message: /nested deeper than 32/ })
  const { doc } = parseJsonWithLines('{"__proto__": {"polluted": 1}}')
  t.deepEqual(Object.keys(doc as object), ['__proto__'])
  t.is(({} as Record<string, unknown>).polluted, undefined)
})
