/**
 * What the history checker knows of the faults injected so far: the connected groups (a partition's
 * groups; one group without a partition), the crashed nodes, the dropped links, and when a fault last
 * touched each node. The rules read it to decide who could talk to whom, and which changes a recent
 * fault excuses. Loss, duplication, reordering and clock skew are steady conditions of a run, not faults.
 */

/** A fault as the simulator records it (also a trace's `fault` note). */
export interface Fault {
  kind: string
  groups?: string[][]
  nodes?: string[]
}

export class FaultLog {
  /** Heartbeat of the last fault of any kind (0: none yet, so bounds count from the start). */
  lastHb = 0
  readonly dead = new Set<string>()
  private readonly groupOf = new Map<string, number>()
  private readonly dropped = new Set<string>()
  private readonly touched = new Map<string, number>()
  /** A partition or a heal changes who hears whom for every node, so it touches them all. */
  private everyoneAt = Number.NEGATIVE_INFINITY

  /** Records fault `f` at heartbeat `hb`. */
  record(hb: number, f: Fault): void {
    this.lastHb = hb
    if (f.kind === 'partition') {
      this.groupOf.clear()
      f.groups?.forEach((g, i) => g.forEach((n) => this.groupOf.set(n, i)))
    } else if (f.kind === 'heal') this.groupOf.clear()
    else if (f.kind === 'crash') for (const n of f.nodes ?? []) this.dead.add(n)
    const [a, b] = f.nodes ?? []
    if (f.kind === 'drop-link' && a !== undefined && b !== undefined) this.dropped.add(linkKey(a, b))
    if (f.kind === 'restore-link' && a !== undefined && b !== undefined) this.dropped.delete(linkKey(a, b))
    // A fault that names no nodes (a partition, a heal, a kind this checker does not know) touches all.
    if (f.nodes === undefined) this.everyoneAt = hb
    else for (const n of f.nodes) this.touched.set(n, hb)
  }

  /** A partition is in effect (not healed yet). */
  get partitioned(): boolean {
    return this.groupOf.size > 0
  }

  /** The connected group of `node` (-1: the one group of an unpartitioned network). */
  group(node: string): number {
    return this.groupOf.get(node) ?? -1
  }

  sameGroup(a: string, b: string): boolean {
    return this.group(a) === this.group(b)
  }

  /** `a` and `b` can exchange packets: same group, and the link between them is not dropped. */
  reachable(a: string, b: string): boolean {
    return this.sameGroup(a, b) && !this.dropped.has(linkKey(a, b))
  }

  /** Did a fault touch `node` at or after heartbeat `hb`? */
  touchedSince(node: string, hb: number): boolean {
    return Math.max(this.everyoneAt, this.touched.get(node) ?? Number.NEGATIVE_INFINITY) >= hb
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`
}
