/**
 * The journal (trace) format, ARCHITECTURE.md §6 and docs/TRACE-FORMAT.md: NDJSON, a header line,
 * then one line per input an actor received, each optionally followed by the step's result. This
 * module only defines the records and validates untrusted lines; writing is recorder.ts, re-running
 * is replayer.ts.
 */
import { JournalError } from './errors.js'

export const JOURNAL_FORMAT = 'crux-trace'
export const JOURNAL_VERSION = 1
/** Longest line (in UTF-16 characters) a reader accepts; a longer one is corrupt, not buffered forever. */
export const MAX_JOURNAL_LINE_BYTES = 1 << 20

export interface JournalHeader {
  format: typeof JOURNAL_FORMAT
  version: typeof JOURNAL_VERSION
  /** The node this journal belongs to, or null for a simulator file holding many nodes. */
  node: string | null
  seed: number | string | null
  config: Record<string, unknown>
  /** name → version of every machine the journal's actors run. */
  machines: Record<string, string>
}

interface Base {
  seq: number
  t: number
  actor: string
  node?: string
}
/** An actor was created: machine name and its input. */
export interface SpawnRecord extends Base {
  spawn: { machine: string; input: unknown }
}
/** One mailbox delivery (`now` is inside `in`). */
export interface DeliveryRecord extends Base {
  in: { type: string; [k: string]: unknown }
}
/** The supervisor restarted a failed actor from its spawn input. */
export interface RestartRecord extends Base {
  restart: { attempt: number }
}
/** The actor was stopped. */
export interface StopRecord extends Base {
  stop: true
}
/**
 * A note from whoever drove the run, not an actor input: a simulator's heartbeat marks (`{"hb":k}`,
 * where the checker judges the flock) and the faults it injected (`{"kind":"partition",…}`). Replay
 * skips them; the history checker reads them.
 */
export interface NoteRecord {
  seq: number
  t: number
  mark?: Record<string, unknown>
  fault?: Record<string, unknown>
}
/** What the step with the same seq produced: the state value and the effects, and the error if it failed. */
export interface ResultRecord {
  seq: number
  node?: string
  state: unknown
  out: unknown[]
  error?: string
}

export type InputRecord = SpawnRecord | DeliveryRecord | RestartRecord | StopRecord
export type JournalRecord = InputRecord | ResultRecord | NoteRecord

/** Parses and validates the header line. */
export function parseHeader(line: string): JournalHeader {
  const h = parseObject(line, 1)
  if (h.format !== JOURNAL_FORMAT) throw new JournalError(`line 1: not a crux journal (format ${JSON.stringify(h.format)}, expected "${JOURNAL_FORMAT}")`)
  if (h.version !== JOURNAL_VERSION) {
    throw new JournalError(`line 1: unsupported journal version ${JSON.stringify(h.version)} (this crux reads version ${JOURNAL_VERSION})`)
  }
  if (h.node !== null && typeof h.node !== 'string') throw new JournalError('line 1: "node" must be a string or null')
  if (h.seed !== null && typeof h.seed !== 'number' && typeof h.seed !== 'string') throw new JournalError('line 1: "seed" must be a number, string or null')
  if (!isPlainObject(h.config)) throw new JournalError('line 1: "config" must be an object')
  if (!isPlainObject(h.machines) || !Object.values(h.machines).every((v) => typeof v === 'string')) {
    throw new JournalError('line 1: "machines" must map machine names to version strings')
  }
  return h as unknown as JournalHeader
}

/** Parses and validates one record line (`lineNo` is 1-based, for messages). */
export function parseRecord(line: string, lineNo: number): JournalRecord {
  const r = parseObject(line, lineNo)
  const where = `line ${lineNo}`
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0) throw new JournalError(`${where}: "seq" must be a non-negative integer`)
  if (r.node !== undefined && typeof r.node !== 'string') throw new JournalError(`${where}: "node" must be a string`)
  if ('state' in r || 'out' in r) {
    if (!Array.isArray(r.out)) throw new JournalError(`${where}: "out" must be an array`)
    if (r.error !== undefined && typeof r.error !== 'string') throw new JournalError(`${where}: "error" must be a string`)
    return r as unknown as ResultRecord
  }
  if (typeof r.t !== 'number' || !Number.isFinite(r.t)) throw new JournalError(`${where}: "t" must be a finite number`)
  if ('mark' in r || 'fault' in r) {
    const body = r.mark ?? r.fault
    if (!isPlainObject(body)) throw new JournalError(`${where}: "${'mark' in r ? 'mark' : 'fault'}" must be an object`)
    return r as unknown as NoteRecord
  }
  if (typeof r.actor !== 'string' || r.actor === '') throw new JournalError(`${where}: "actor" must be a non-empty string`)
  if ('in' in r) {
    const ev = r.in
    if (!isPlainObject(ev) || typeof ev.type !== 'string') throw new JournalError(`${where}: "in" must be an event object with a string "type"`)
    return r as unknown as DeliveryRecord
  }
  if ('spawn' in r) {
    const s = r.spawn
    if (!isPlainObject(s) || typeof s.machine !== 'string') throw new JournalError(`${where}: "spawn" must be {"machine":string,"input":…}`)
    return r as unknown as SpawnRecord
  }
  if ('restart' in r) {
    if (!isPlainObject(r.restart) || !Number.isSafeInteger(r.restart.attempt)) throw new JournalError(`${where}: "restart" must be {"attempt":integer}`)
    return r as unknown as RestartRecord
  }
  if (r.stop === true) return r as unknown as StopRecord
  throw new JournalError(`${where}: unknown record (expected one of in, spawn, restart, stop, or a result with state/out)`)
}

export function isResult(r: JournalRecord): r is ResultRecord {
  return 'out' in r
}

export function isNote(r: JournalRecord): r is NoteRecord {
  return 'mark' in r || 'fault' in r
}

function parseObject(line: string, lineNo: number): Record<string, unknown> {
  if (line.length > MAX_JOURNAL_LINE_BYTES) throw new JournalError(`line ${lineNo}: longer than ${MAX_JOURNAL_LINE_BYTES} characters`)
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    throw new JournalError(`line ${lineNo}: not valid JSON (truncated or corrupt)`)
  }
  if (!isPlainObject(v)) throw new JournalError(`line ${lineNo}: expected a JSON object`)
  return v
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
