/**
 * Walrus log levels. The numbers are pino's, so lines read by pino tooling (pino-pretty, transports)
 * show the right level; `silent` is +Infinity so that `level < threshold` suppresses everything.
 */
import { InvalidArgumentError } from './errors.js'

/** A level a statement can be logged at. */
export type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'

/** A threshold: a level name, or `silent` (nothing passes). */
export type Level = LevelName | 'silent'

/** Level → the number written in a line's `level` field (pino's values). */
export const levelValues: Readonly<Record<Level, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
}

const names: Readonly<Record<number, LevelName>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
}

/** The numeric value of a threshold; throws InvalidArgumentError for anything else. */
export function levelValue(level: string): number {
  // Own-property check: a level read from a flag or a remote request must not resolve to
  // Object.prototype members such as `toString`.
  if (!Object.hasOwn(levelValues, level)) {
    throw new InvalidArgumentError(`unknown log level ${JSON.stringify(level)}`, {
      details: { level, known: Object.keys(levelValues) },
    })
  }
  return levelValues[level as Level]
}

// A plain literal keeps V8's fast properties; inherited members (`toString`, `__proto__`) are
// rejected by the typeof check in statementValue rather than by a null prototype (which is slower).
const statementValues: Readonly<Record<string, unknown>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

/** The value of a statement's level (not `silent`); throws InvalidArgumentError for anything else. */
export function statementValue(level: string): number {
  const v = statementValues[level]
  if (typeof v !== 'number') {
    throw new InvalidArgumentError(`cannot log at level ${JSON.stringify(level)}`, { details: { level } })
  }
  return v
}

/** The name of a threshold value (`30` → `info`, `Infinity` → `silent`). */
export function levelName(value: number): Level {
  return value === Number.POSITIVE_INFINITY ? 'silent' : names[value]!
}

/** The name of a statement's level value (never `silent`). */
export function statementLevelName(value: number): LevelName {
  return names[value]!
}
