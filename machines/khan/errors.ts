/**
 * The khan language's errors. Each names where (line and column, 1-based) and what was expected, and
 * formats as `LINE:COL: expected …, got …`, which the CLI prefixes with the file name, the way
 * compilers do, so editors can jump to it.
 */
import type { Pos } from './ast.js'

/** Any error in a khan program: where, what was expected, what was found. */
export class KhanError extends Error {
  readonly line: number
  readonly col: number
  readonly expected: string
  readonly got: string

  constructor(pos: Pos, expected: string, got: string) {
    super(`${pos.line}:${pos.col}: expected ${expected}, got ${got}`)
    this.name = 'KhanError'
    this.line = pos.line
    this.col = pos.col
    this.expected = expected
    this.got = got
  }

  /** The plain form `--json` prints. */
  toJSON(): { line: number; col: number; error: string; expected: string; got: string; message: string } {
    return { line: this.line, col: this.col, error: this.name, expected: this.expected, got: this.got, message: this.message }
  }
}

/** A character the lexer cannot start a token with, or an unterminated string. */
export class KhanLexError extends KhanError {
  constructor(pos: Pos, expected: string, got: string) {
    super(pos, expected, got)
    this.name = 'KhanLexError'
  }
}

/** Tokens in an order the grammar does not allow. */
export class KhanParseError extends KhanError {
  constructor(pos: Pos, expected: string, got: string) {
    super(pos, expected, got)
    this.name = 'KhanParseError'
  }
}

/** A well-formed program that does not make sense: a set where a count belongs, an undefined name, … */
export class KhanCheckError extends KhanError {
  constructor(pos: Pos, expected: string, got: string) {
    super(pos, expected, got)
    this.name = 'KhanCheckError'
  }
}
