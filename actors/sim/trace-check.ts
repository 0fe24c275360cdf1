/**
 * `crux check`: rebuilds the flock from a simulator trace by replaying it, and runs the history
 * checker at each heartbeat mark the simulator wrote, with the faults it recorded.
 */
import { flockMachine } from '../../machines/flock.machine.js'
import type { FlockContext } from '../../machines/flock/types.js'
import { JournalError } from '../../runtime/errors.js'
import { readLines, replayJournal, type Divergence } from '../../runtime/replayer.js'
import { parseHeader } from '../../runtime/journal.js'
import { FlockChecker, type CheckBounds, type ViolationKind } from './check.js'
import { observeContexts } from '../flock/observe.js'

export interface TraceCheck {
  marks: number
  nodes: number
  agreed: boolean
  violations: string[]
  /** Whether the steady state was judged (the trace's run was given --until-hb). */
  steady: boolean
  /** The violations counted by kind. */
  violation_kinds: Partial<Record<ViolationKind, number>>
  diverged: false | Divergence
}

export function checkTrace(path: string, bounds: Partial<CheckBounds> = {}): TraceCheck {
  const lines = readLines(path)
  const first = lines.next()
  if (first.done === true) throw new JournalError(`${path} is empty (no header line)`)
  // The simulator writes its options into the header: a run given --until-hb has a steady state to judge.
  const steady = parseHeader(first.value).config.untilHb != null
  const checker = new FlockChecker(bounds, { steady })
  const dead = new Set<string>()
  let marks = 0
  let lastHb = 0
  let agreed = false
  const report = replayJournal(withFirst(first.value, lines), {
    machines: [flockMachine],
    onNote: (note, cells) => {
      const body = (note.mark ?? note.fault)!
      const hb = Number(body.hb)
      if (!Number.isSafeInteger(hb)) throw new JournalError(`seq ${note.seq}: a mark or fault without an integer "hb"`)
      if (note.fault !== undefined) {
        const f = note.fault as { kind: string; groups?: string[][]; nodes?: string[] }
        checker.fault(hb, f)
        if (f.kind === 'crash') for (const n of f.nodes ?? []) dead.add(n)
        return
      }
      marks++
      lastHb = hb
      const views: Array<{ node: string; ctx: FlockContext }> = []
      for (const [id, cell] of cells) {
        const node = id.endsWith('/flock') ? id.slice(0, -'/flock'.length) : id
        if (!dead.has(node) && !cell.failed) views.push({ node, ctx: cell.context as FlockContext })
      }
      agreed = observeContexts(views.map((v) => v.ctx)).agreed
      checker.observe(hb, views, agreed)
    },
  })
  if (marks === 0) throw new JournalError(`${path} has no heartbeat marks: crux check reads traces written by crux sim --trace`)
  checker.finish(lastHb)
  return { marks, nodes: report.nodes, agreed, steady, violations: checker.violations, violation_kinds: checker.kinds(), diverged: report.diverged }
}

function* withFirst(first: string, rest: Iterator<string>): Generator<string> {
  yield first
  for (let r = rest.next(); r.done !== true; r = rest.next()) yield r.value
}
