/**
 * Parse and check in one step, as a caller that holds program text (the CLI, a proctor handed a
 * program) wants it: the program if it is sound, and every error and warning either way.
 */
import type { Program } from './ast.js'
import { check, type CheckResult, type KhanWarning } from './checker.js'
import { KhanError } from './errors.js'
import { parse } from './parser.js'

/** A compiled program, or why there is none. */
export interface Compiled {
  /** The program, when it parsed and checked without error. */
  readonly program: Program | null
  /** The syntax error (at most one: parsing stops there) or every checker error, in source order. */
  readonly errors: KhanError[]
  readonly warnings: KhanWarning[]
  /** The checker's findings, when the program parsed. */
  readonly checked: CheckResult | null
}

/** Compiles `source`; throws only for errors that are not the program's (bugs). */
export function compile(source: string): Compiled {
  let program: Program
  try {
    program = parse(source)
  } catch (err) {
    if (err instanceof KhanError) return { program: null, errors: [err], warnings: [], checked: null }
    throw err
  }
  const checked = check(program)
  const errors = [...checked.errors].sort((a, b) => a.line - b.line || a.col - b.col)
  const warnings = [...checked.warnings].sort((a, b) => a.line - b.line || a.col - b.col)
  return { program: errors.length === 0 ? program : null, errors, warnings, checked }
}
