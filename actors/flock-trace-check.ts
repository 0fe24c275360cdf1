/**
 * `crux check`: rebuilds the flock from a simulator trace by replaying it, and runs the history
 * checker at each heartbeat mark the simulator wrote, with the faults it recorded.
 */
import { flockMachine } from '../machines/flock.machine.js'
import type { FlockContext } from '../machines/flock/types.js'
import { JournalError } from '../runtime/errors.js'
import { readLines, replayJournal, type Divergence } from '../runtime/replayer.js'
import { FlockChecker, type CheckBounds } from './flock-check.js'
import { observeContexts } from './flock-observe.js'

export interface TraceCheck {
  marks: number
  nodes: number
  agreed: boolean
  violations: string[]
  diverged: false | Divergence
}

export function checkTrace(path: string, bounds: Partial<CheckBounds> = {}): TraceCheck {
  const checker = new FlockChecker(bounds)
  const dead = new Set<string>()
  let marks = 0
  let lastHb = 0
  let agreed = false
  const report = replayJournal(readLines(path), {
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
  return { marks, nodes: report.nodes, agreed, violations: checker.violations, diverged: report.diverged }
}
