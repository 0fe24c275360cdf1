/**
 * Walrus (seed 003 §8.5): structured logging on pino with tags and a retrograde ring buffer.
 *
 * Walrus, not pino, decides what is written: the pino logger underneath stays at `trace` and is only
 * a formatter and a writer. That is what lets a suppressed statement be kept and later written at
 * its own level and time. Everything that decides (level, tag levels, retro ring, clock) is per node
 * and shared by the node's root logger, its children and its tag loggers.
 *
 * Cost of a suppressed statement with retro off: one comparison (plus a Map lookup when tagged).
 */
import { pino, type DestinationStream, type Logger } from 'pino'
import type { Clock } from './clock.js'
import { levelValue, type Level, type LevelName } from './walrus-levels.js'
import { WalrusLogger, type NodeState } from './walrus-logger.js'

export { levelValues, type Level, type LevelName } from './walrus-levels.js'

/** Structured fields of one statement. */
export type Fields = Record<string, unknown>

/** Options of {@link createWalrus}. */
export interface WalrusOptions {
  /** Threshold for untagged statements. Default `info`. */
  level?: Level
  /** Where NDJSON lines go. Default: pino's stdout destination. */
  destination?: DestinationStream
  /** Bindings on every line of the node, e.g. `{ node: 'n1' }`. No pid/hostname unless given here. */
  base?: Fields
  /** Source of the `time` field (ms on the clock's timeline). Default `Date.now`. */
  clock?: Clock
  /** Initial tag levels; a tag not listed is silent. */
  tagLevels?: Record<string, Level>
  /** Start with the retrograde buffer on. */
  retro?: { capacity: number; trigger?: LevelName }
}

/** A walrus logger. Children and tag loggers share their node's level, tag levels and retro ring. */
export interface Walrus {
  trace(msg: string, fields?: Fields): void
  debug(msg: string, fields?: Fields): void
  info(msg: string, fields?: Fields): void
  warn(msg: string, fields?: Fields): void
  error(msg: string, fields?: Fields): void
  fatal(msg: string, fields?: Fields): void
  /** Seed-style statement. `tag` undefined means this logger's own tag (if any). */
  log(level: LevelName, tag: string | undefined, fields: Fields | undefined, msg: string): void
  /** Whether a statement at `level` (under `tag`, default this logger's tag) would be written. */
  isEnabled(level: LevelName, tag?: string): boolean
  /** A logger for one component (`crux:flock`): `component` replaces the parent's, bindings add up. */
  child(component: string, bindings?: Fields): Walrus
  /** A logger whose statements carry `tag` and are governed by the tag's level only. */
  tag(name: string): Walrus
  /** The node's threshold for untagged statements. */
  readonly level: Level
  setLevel(level: Level): void
  tagLevel(tag: string): Level
  /** Sets a tag's threshold; `silent` (the default for unknown tags) turns the tag off. */
  setTagLevel(tag: string, level: Level): void
  /** Keeps the last `capacity` suppressed statements; a written statement ≥ `trigger` flushes them first. */
  enableRetro(capacity: number, trigger?: LevelName): void
  /** Turns the ring off and forgets what it held. */
  disableRetro(): void
  /** Writes the held statements now (marked `retro: true`) and empties the ring. Returns how many. */
  dumpRetro(): number
  /** The pino logger underneath (always at `trace`; walrus does the filtering). */
  readonly pino: Logger
}

/** Creates a node's root walrus logger. */
export function createWalrus(options: WalrusOptions = {}): Walrus {
  const clock = options.clock
  const state: NodeState = {
    root: undefined as unknown as Logger,
    level: levelValue(options.level ?? 'info'),
    tagLevels: new Map(Object.entries(options.tagLevels ?? {}).map(([t, l]) => [t, levelValue(l)])),
    retro: null,
    now: clock === undefined ? Date.now : () => clock.now(),
    timeOverride: undefined,
  }
  const pinoOptions = {
    level: 'trace',
    base: options.base ?? null,
    // pino serializes Errors only under `err` by default; crux code also writes `error`.
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    // pino calls this synchronously while it builds each line, so the override is safe.
    timestamp: () => `,"time":${state.timeOverride ?? state.now()}`,
  }
  state.root = options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination)
  const w = new WalrusLogger(state, state.root, {}, undefined)
  if (options.retro !== undefined) w.enableRetro(options.retro.capacity, options.retro.trigger)
  return w
}

