/**
 * The walrus logger implementation behind {@link createWalrus}. Every logger of a node holds the same
 * {@link NodeState}; a logger itself is only a pino logger (its bindings) and an optional tag, so
 * children and tag loggers are cheap to make.
 */
import type { Logger } from 'pino'
import { InvalidArgumentError } from './errors.js'
import { levelName, levelValue, levelValues, statementLevelName, statementValue, type Level, type LevelName } from './walrus-levels.js'
import { RetroRing } from './walrus-retro.js'
import type { Fields, Walrus } from './walrus.js'

/** Per-node state shared by a root logger and all loggers derived from it. */
export interface NodeState {
  root: Logger
  level: number
  tagLevels: Map<string, number>
  retro: RetroRing | null
  now: () => number
  /** Set while writing a retro entry so the timestamp function writes the entry's original time. */
  timeOverride: number | undefined
}

const SILENT = levelValues.silent

/** A node's logger, a child or a tag logger. */
export class WalrusLogger implements Walrus {
  constructor(
    private readonly s: NodeState,
    readonly pino: Logger,
    private readonly bindings: Fields,
    private readonly ownTag: string | undefined,
  ) {}

  trace(msg: string, fields?: Fields): void {
    this.emit(10, this.ownTag, fields, msg)
  }
  debug(msg: string, fields?: Fields): void {
    this.emit(20, this.ownTag, fields, msg)
  }
  info(msg: string, fields?: Fields): void {
    this.emit(30, this.ownTag, fields, msg)
  }
  warn(msg: string, fields?: Fields): void {
    this.emit(40, this.ownTag, fields, msg)
  }
  error(msg: string, fields?: Fields): void {
    this.emit(50, this.ownTag, fields, msg)
  }
  fatal(msg: string, fields?: Fields): void {
    this.emit(60, this.ownTag, fields, msg)
  }

  log(level: LevelName, tag: string | undefined, fields: Fields | undefined, msg: string): void {
    this.emit(statementValue(level), tag ?? this.ownTag, fields, msg)
  }

  isEnabled(level: LevelName, tag: string | undefined = this.ownTag): boolean {
    return statementValue(level) >= this.threshold(tag)
  }

  child(component: string, bindings?: Fields): Walrus {
    // Built from the root with merged bindings: a pino grandchild would repeat the `component` key.
    const merged = { ...this.bindings, ...bindings, component }
    return new WalrusLogger(this.s, this.s.root.child(merged), merged, this.ownTag)
  }

  tag(name: string): Walrus {
    return new WalrusLogger(this.s, this.pino, this.bindings, name)
  }

  get level(): Level {
    return levelName(this.s.level)
  }
  setLevel(level: Level): void {
    this.s.level = levelValue(level)
  }
  tagLevel(tag: string): Level {
    return levelName(this.s.tagLevels.get(tag) ?? SILENT)
  }
  setTagLevel(tag: string, level: Level): void {
    const v = levelValue(level)
    if (v === SILENT) this.s.tagLevels.delete(tag)
    else this.s.tagLevels.set(tag, v)
  }

  enableRetro(capacity: number, trigger: LevelName = 'error'): void {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`retro capacity must be a positive integer, got ${capacity}`, { details: { capacity } })
    }
    const ring = new RetroRing(capacity, statementValue(trigger))
    // Re-enabling keeps what was held (the newest `capacity` of it) rather than losing the lead-up.
    for (const e of this.s.retro?.drain() ?? []) ring.keep(e.logger, e.level, e.tag, e.fields, e.msg, e.time)
    this.s.retro = ring
  }
  disableRetro(): void {
    this.s.retro = null
  }
  dumpRetro(): number {
    return flushRetro(this.s)
  }

  private threshold(tag: string | undefined): number {
    // Seed 003: a tagged statement obeys its tag's level only; the default level does not apply.
    return tag === undefined ? this.s.level : (this.s.tagLevels.get(tag) ?? SILENT)
  }

  private emit(level: number, tag: string | undefined, fields: Fields | undefined, msg: string): void {
    const s = this.s
    if (level < this.threshold(tag)) {
      if (s.retro !== null) s.retro.keep(this.pino, level, tag, fields, msg, s.now())
      return
    }
    if (s.retro !== null && level >= s.retro.trigger) flushRetro(s)
    write(this.pino, level, tag, fields, msg, false)
  }
}

function flushRetro(s: NodeState): number {
  if (s.retro === null) return 0
  const entries = s.retro.drain()
  for (const e of entries) {
    s.timeOverride = e.time
    try {
      write(e.logger, e.level, e.tag, e.fields, e.msg, true)
    } finally {
      s.timeOverride = undefined
    }
  }
  return entries.length
}

function write(logger: Logger, level: number, tag: string | undefined, fields: Fields | undefined, msg: string, retro: boolean): void {
  const name = statementLevelName(level)
  if (tag === undefined && !retro) {
    if (fields === undefined) logger[name](msg)
    else logger[name](fields, msg)
    return
  }
  const obj: Fields = { ...fields }
  if (tag !== undefined) obj['tag'] = tag
  if (retro) obj['retro'] = true
  logger[name](obj, msg)
}
