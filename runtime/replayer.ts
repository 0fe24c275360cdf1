/**
 * Replays a journal through the same machines (the same {@link ActorCell} the host uses) and compares
 * every step's state value and effects with the result lines the recorder wrote. No clock, no
 * network: the journal's inputs are the whole world. The first step that comes out differently is
 * reported as `{ seq, expected, got }`; a journal that cannot be read raises a {@link JournalError}
 * naming the line.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import type { MachineDefinition } from '../machines/definition.js'
import { ActorCell, type StepResult } from './actor-cell.js'
import { JournalError } from './errors.js'
import { isNote, isResult, MAX_JOURNAL_LINE_BYTES, parseHeader, parseRecord, type InputRecord, type JournalHeader, type NoteRecord } from './journal.js'

export interface ReplayOptions {
  machines: Iterable<MachineDefinition>
  /** Replay only this node's actors (lines whose `node`, or the header's node, matches). */
  node?: string
  /** Stop after this seq. */
  until?: number
  /** Called for every note (marks, faults), with the live cells so far (read-only use). */
  onNote?: (note: NoteRecord, cells: ReadonlyMap<string, ActorCell>) => void
  /** Called after every replayed step (spawn, delivery, restart), with the cell after it (read-only use). */
  onStep?: (step: ReplayedStep) => void
}

/** One step as replay ran it: `input` is the delivered event, or null for a spawn or restart. */
export interface ReplayedStep {
  seq: number
  /** The input's time (ms, the node's clock). */
  t: number
  actor: string
  input: { type: string; [k: string]: unknown } | null
  cell: ActorCell
  res: StepResult
}

export interface Divergence {
  seq: number
  actor: string
  expected: { state: unknown; out: unknown[]; error?: string }
  got: { state: unknown; out: unknown[]; error?: string }
}

export interface ReplayReport {
  header: JournalHeader
  /** Inputs replayed (spawns, deliveries, restarts, stops). */
  events: number
  /** Result lines compared. */
  verified: number
  nodes: number
  diverged: false | Divergence
  /** Final state value per actor id. */
  final: Record<string, unknown>
}

/** Replays journal text lines (header first). */
export function replayJournal(lines: Iterable<string>, options: ReplayOptions): ReplayReport {
  const registry = new Map<string, MachineDefinition>()
  for (const m of options.machines) registry.set(m.name, m)
  const it = lines[Symbol.iterator]()
  const first = it.next()
  if (first.done === true || first.value.trim() === '') throw new JournalError('journal is empty (no header line)')
  const header = parseHeader(first.value)
  for (const [name, version] of Object.entries(header.machines)) {
    const def = registry.get(name)
    if (def === undefined) throw new JournalError(`journal uses machine ${name}@${version}, which this crux does not have`)
    if (def.version !== version) throw new JournalError(`journal was recorded with ${name}@${version}; this crux has ${name}@${def.version}`)
  }

  const cells = new Map<string, { cell: ActorCell; spawn: InputRecord & { spawn: { machine: string; input: unknown } } }>()
  const nodes = new Set<string>()
  let pending: { seq: number; actor: string; cell: ActorCell; res: StepResult; node?: string } | null = null
  let events = 0
  let verified = 0
  let lastSeq = 0
  let lineNo = 1
  let diverged: false | Divergence = false

  for (let r = it.next(); r.done !== true; r = it.next()) {
    lineNo++
    const line = r.value
    if (line.trim() === '') continue
    // The fast path: the result line of the step just replayed, byte for byte what the recorder
    // (runtime/recorder.ts `result`) writes for the same outcome, is verified without parsing it.
    // Anything else, a divergence included, takes the full path below, which reports it precisely.
    if (pending !== null && line.startsWith(`{"seq":${pending.seq},`)) {
      const n = pending.node === undefined ? '' : `,"node":${JSON.stringify(pending.node)}`
      const e = pending.res.error === undefined ? '' : `,"error":${JSON.stringify(pending.res.error)}`
      if (line === `{"seq":${pending.seq}${n},"state":${JSON.stringify(pending.cell.value)},"out":${JSON.stringify(pending.res.out)}${e}}`) {
        verified++
        pending = null
        continue
      }
    }
    const rec = parseRecord(line, lineNo)
    if (isNote(rec)) {
      // Notes belong to the whole run, never to one node.
      if (options.until !== undefined && rec.seq > options.until) break
      if (rec.seq <= lastSeq) throw new JournalError(`line ${lineNo}: seq ${rec.seq} does not follow ${lastSeq}`)
      lastSeq = rec.seq
      if (options.onNote !== undefined) options.onNote(rec, liveCells(cells))
      continue
    }
    const node = rec.node ?? header.node ?? undefined
    if (options.node !== undefined && node !== options.node) continue

    if (isResult(rec)) {
      if (pending === null || pending.seq !== rec.seq) continue // result of a step we skipped (filtered node or --until)
      verified++
      const got = { state: pending.cell.value, out: pending.res.out, ...(pending.res.error === undefined ? {} : { error: pending.res.error }) }
      const expected = { state: rec.state, out: rec.out, ...(rec.error === undefined ? {} : { error: rec.error }) }
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        diverged = { seq: rec.seq, actor: pending.actor, expected, got }
        break
      }
      pending = null
      continue
    }

    if (rec.seq <= lastSeq) throw new JournalError(`line ${lineNo}: seq ${rec.seq} does not follow ${lastSeq}`)
    if (options.until !== undefined && rec.seq > options.until) break
    lastSeq = rec.seq
    events++
    if (node !== undefined) nodes.add(node)

    if ('spawn' in rec) {
      const def = registry.get(rec.spawn.machine)
      if (def === undefined || header.machines[rec.spawn.machine] === undefined) {
        throw new JournalError(`line ${lineNo}: spawn of machine ${JSON.stringify(rec.spawn.machine)} not declared in the header`)
      }
      if (cells.has(rec.actor)) throw new JournalError(`line ${lineNo}: actor ${JSON.stringify(rec.actor)} spawned twice`)
      const cell = new ActorCell(rec.actor, def, rec.spawn.input)
      cells.set(rec.actor, { cell, spawn: rec })
      pending = { seq: rec.seq, actor: rec.actor, cell, res: cell.takeStartEffects(), node: rec.node }
      options.onStep?.({ seq: rec.seq, t: rec.t, actor: rec.actor, input: null, cell, res: pending.res })
    } else {
      const entry = cells.get(rec.actor)
      if (entry === undefined) throw new JournalError(`line ${lineNo}: actor ${JSON.stringify(rec.actor)} was never spawned`)
      if ('in' in rec) {
        pending = { seq: rec.seq, actor: rec.actor, cell: entry.cell, res: entry.cell.step(rec.in), node: rec.node }
        options.onStep?.({ seq: rec.seq, t: rec.t, actor: rec.actor, input: rec.in, cell: entry.cell, res: pending.res })
      } else if ('restart' in rec) {
        entry.cell.stop()
        const def = registry.get(entry.spawn.spawn.machine)!
        entry.cell = new ActorCell(rec.actor, def, entry.spawn.spawn.input)
        pending = { seq: rec.seq, actor: rec.actor, cell: entry.cell, res: entry.cell.takeStartEffects(), node: rec.node }
        options.onStep?.({ seq: rec.seq, t: rec.t, actor: rec.actor, input: null, cell: entry.cell, res: pending.res })
      } else {
        entry.cell.stop()
        cells.delete(rec.actor)
        pending = null
      }
    }
  }

  const final: Record<string, unknown> = {}
  for (const [id, { cell }] of cells) {
    final[id] = cell.value
    cell.stop()
  }
  return { header, events, verified, nodes: nodes.size, diverged, final }
}

function liveCells(cells: Map<string, { cell: ActorCell }>): Map<string, ActorCell> {
  const m = new Map<string, ActorCell>()
  for (const [id, { cell }] of cells) m.set(id, cell)
  return m
}

/**
 * Reads a file's lines lazily in 1 MiB chunks, so replaying a multi-gigabyte simulator trace does not
 * need the whole file in memory. Lines are cut at the newline byte and decoded one by one (a newline
 * never falls inside a UTF-8 character), which is 2–3× faster than decoding chunks and splitting them.
 */
export function* readLines(path: string, chunkBytes = 1 << 20): Generator<string> {
  const fd = openSync(path, 'r')
  try {
    let buf = Buffer.alloc(chunkBytes)
    let start = 0
    let end = 0
    let lineNo = 0
    for (;;) {
      if (start > 0) {
        buf.copy(buf, 0, start, end)
        end -= start
        start = 0
      }
      // A file with no line ends must not be buffered whole: past the line limit it is corrupt.
      if (end > MAX_JOURNAL_LINE_BYTES) throw new JournalError(`line ${lineNo + 1}: longer than ${MAX_JOURNAL_LINE_BYTES} characters`)
      if (end === buf.length) {
        const bigger = Buffer.alloc(buf.length * 2)
        buf.copy(bigger, 0, 0, end)
        buf = bigger
      }
      const n = readSync(fd, buf, end, buf.length - end, null)
      if (n === 0) break
      end += n
      for (let i = buf.indexOf(10, start); i >= 0 && i < end; i = buf.indexOf(10, start)) {
        lineNo++
        yield buf.toString('utf8', start, i)
        start = i + 1
      }
    }
    if (start < end) yield buf.toString('utf8', start, end)
  } finally {
    closeSync(fd)
  }
}
