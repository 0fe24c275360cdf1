/**
 * The khan lexer: source text to tokens. Newlines end expressions, except inside parentheses, where a
 * long pick may wrap; `#` starts a comment that runs to the end of the line. `~` is read as `!` (seed
 * 003's example writes the complement that way). Pure: no I/O.
 */
import type { Pos, Token, TokenKind } from './ast.js'
import { KhanLexError } from './errors.js'

const SINGLE: Record<string, TokenKind> = { '(': '(', ')': ')', ',': ',', '!': '!', '~': '!', '&': '&', '|': '|', '+': '+', '-': '-', '*': '*', '/': '/', '%': '%', '.': '.' }

/** How a token is named in an error message. */
export function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the program'
    case 'newline':
      // The newline the lexer adds when the text does not end with one is the end of the program.
      return t.text === '' ? 'the end of the program' : 'the end of the line'
    case 'ident':
      return `\`${t.text}\``
    case 'number':
      return `the number ${t.text}`
    case 'string':
      return `the string ${JSON.stringify(t.text)}`
    default:
      return `\`${t.kind}\``
  }
}

/** Splits `source` into tokens, ending with one `eof`. Throws {@link KhanLexError}. */
export function lex(source: string): Token[] {
  const out: Token[] = []
  let line = 1
  let lineStart = 0
  let depth = 0
  let i = 0
  const pos = (at: number): Pos => ({ line, col: at - lineStart + 1 })
  const push = (kind: TokenKind, text: string, at: number) => out.push({ kind, text, pos: pos(at) })
  while (i < source.length) {
    const c = source[i]!
    if (c === '\n') {
      // One newline token per run of line ends, and none inside parentheses or before the first line.
      if (depth === 0 && out.length > 0 && out[out.length - 1]!.kind !== 'newline') push('newline', '\n', i)
      i++
      line++
      lineStart = i
    } else if (c === ' ' || c === '\t' || c === '\r') i++
    else if (c === '#') while (i < source.length && source[i] !== '\n') i++
    else if (/[A-Za-z_]/.test(c)) {
      const at = i
      while (i < source.length && /[A-Za-z0-9_]/.test(source[i]!)) i++
      push('ident', source.slice(at, i), at)
    } else if (/[0-9]/.test(c)) {
      const at = i
      while (i < source.length && /[0-9]/.test(source[i]!)) i++
      if (source[i] === '.' && /[0-9]/.test(source[i + 1] ?? '')) {
        i++
        while (i < source.length && /[0-9]/.test(source[i]!)) i++
      }
      push('number', source.slice(at, i), at)
    } else if (c === '"') {
      const at = i
      let text = ''
      i++
      for (;;) {
        const d = source[i]
        if (d === undefined || d === '\n') throw new KhanLexError(pos(at), 'a closing `"` on the same line', d === undefined ? 'the end of the program' : 'the end of the line')
        i++
        if (d === '"') break
        if (d === '\\') {
          const e = source[i]
          if (e !== '"' && e !== '\\') throw new KhanLexError(pos(i - 1), '`\\"` or `\\\\` after a backslash in a string', e === undefined || e === '\n' ? 'the end of the line' : `\`\\${e}\``)
          text += e
          i++
        } else text += d
      }
      push('string', text, at)
    } else if (c === ':' && source[i + 1] === '=') {
      push(':=', ':=', i)
      i += 2
    } else if (SINGLE[c] !== undefined) {
      if (c === '(') depth++
      else if (c === ')' && depth > 0) depth--
      push(SINGLE[c], c, i)
      i++
    } else {
      const cp = source.codePointAt(i)!
      const shown = cp < 0x20 || cp === 0x7f ? `the control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : `\`${String.fromCodePoint(cp)}\``
      throw new KhanLexError(pos(i), 'a name, a number, a string or one of := ( ) , ! & | + - * / % .', shown)
    }
  }
  if (out.length > 0 && out[out.length - 1]!.kind !== 'newline') push('newline', '', i)
  push('eof', '', i)
  return out
}
