/**
 * Statechart coverage of the flock machine over simulator runs: which of the machine's states and
 * transitions the runs actually exercised.
 *
 * The universe comes from the machine definition itself (a walk of `flockLogic.root`), so a state or
 * transition added to the chart shows up as missed until some run takes it:
 *
 * - **states**: every leaf (atomic or final) state, by path: `leader.alone`, …, `rebooting`, `left`.
 * - **transitions**, three kinds, each written `source --event--> target`:
 *   1. the initial transition `(initial) --xstate.init--> <leaf>`, following `initial` from the root
 *      down to a leaf;
 *   2. event transitions, per non-final leaf A and per event type E that A or one of its ancestors
 *      handles (`on`): `A --E--> T` for each target T of E's transition (`leave` → `left`), or
 *      `A --E--> A` when E's transition has no target, i.e. the event is handled in A by actions
 *      alone (the "self-handled" events: `info`, `heartbeat.batch`, `list.pull`, `list.chunk`,
 *      `timer.fired`, `admin.reboot`);
 *   3. routing transitions: per eventless (`always`) transition of a state S into B, one
 *      `A --always--> B` for every non-final leaf A inside S other than B (the flock machine's root
 *      routes to the state its context describes after every step; the guard excludes staying put).
 *   With the flock machine: 1 + 6 × 7 + 6 × 5 = 73 transitions.
 *
 * Observation, from `runSim`'s `onStep(node, step)`: each node's previous state path is remembered
 * (a node's first observed step starts from the initial leaf: runSim attaches the hook after spawning,
 * so the `xstate.init` step itself is not observed, and the initial transition counts as covered once
 * any node is observed). A step from A with event E that ends in B covers the event transition A --E-->
 * (A for a targetless E, or E's target) and, when the routing moved the node on from there to B, the
 * routing transition `X --always--> B`. Failed steps (`error`) cover nothing.
 */
import type { AnyStateMachine } from 'xstate'
import type { StepInfo } from '../../runtime/host.js'
import { VOTE_MAX } from '../../machines/flock/constants.js'
import { flockLogic } from '../../machines/flock.machine.js'
import type { FlockActor } from '../flock/flock.actor.js'
import { runSim, type SimOptions } from './simulator.js'

export interface FlockCoverage {
  states: { covered: string[]; missed: string[] }
  transitions: { covered: string[]; missed: string[] }
  ratio: { states: number; transitions: number }
}

/** What can be covered, derived from a machine definition. */
export interface ChartUniverse {
  states: string[]
  transitions: string[]
  /** The leaf a fresh actor starts in. */
  initial: string
  /** Per non-final leaf and event type: where the event's own transition leads (the leaf itself when targetless). */
  eventTargets: Map<string, Map<string, string[]>>
}

/**
 * A walk for the late-answer transitions, which the fault schedules reach only by coincidence: a list
 * pull's answer landing on a node that stopped being a member meanwhile. From heartbeat `fromHb` on,
 * each of the first `reboots` members to send a list pull to a stable leader is rebooted that moment
 * (the admin reboot the reboot storms send, lasting `config.rebootHb`). The leader's chunks, on the
 * wire for two network delays, land while the node reboots (`rebooting --list.chunk-->`) or once it
 * has started over and leads alone, until its old leader's next check-in draws it back in
 * (`leader.alone --list.chunk-->`). `base` needs a fault that changes a stable flock's list after
 * `fromHb` (members pull only then); `base.onStep` and `base.onHb` still run.
 *
 * The hooks keep their state per run (keyed on the node array runSim hands to `onHb`), so the options
 * can be run more than once.
 */
export function rebootWhilePulling(base: SimOptions, walk: { fromHb: number; reboots: number }): SimOptions {
  let run: { nodes: readonly FlockActor[]; left: number } | null = null
  return {
    ...base,
    onHb: (hb, obs, nodes) => {
      if (run?.nodes !== nodes) run = { nodes, left: 0 }
      if (hb === walk.fromHb) run.left = walk.reboots
      base.onHb?.(hb, obs, nodes)
    },
    onStep: (node, step) => {
      base.onStep?.(node, step)
      if (run === null || run.left <= 0 || step.error !== undefined) return
      if (!step.out.some((e) => e.type === 'send' && e.event.type === 'list.pull')) return
      const actor = run.nodes.find((n) => n.id === step.actor)
      // Until a new run's first heartbeat mark, `run` still holds the previous run's closed hosts.
      if (actor === undefined || !actor.host.has(actor.id)) return
      // Only pulls to a stable leader: those are answered (a forming leader may have moved on).
      if (actor.context().lvote !== VOTE_MAX) return
      actor.host.send(actor.id, { type: 'admin.reboot' }, 'control')
      run.left--
    },
  }
}

/**
 * The seed list's late-answer walk: halves split at HB 10, so the leader's half prunes the rest and its
 * members pull the change; the first 16 members to pull from a stable leader are rebooted (for 0.4 HB)
 * the moment they do, and the answers (round trips of up to 1 HB) land during the reboot or after it,
 * on a node leading alone.
 */
export const LATE_ANSWER_WALK: SimOptions = rebootWhilePulling(
  { nodes: 30, seed: 1, delay: [1, 500], untilHb: 40, partition: { atHb: 10, groups: 2, healHb: 16 }, config: { rebootHb: 0.4 } },
  { fromHb: 10, reboots: 16 },
)

/** The seed list: a fixed set of simulator runs covering the protocol's situations (deterministic). */
export const COVERAGE_RUNS: readonly SimOptions[] = Object.freeze([
  // normal agreement
  { nodes: 10, seed: 1 },
  { nodes: 10, seed: 2 },
  { nodes: 100, seed: 1 },
  // long enough for the key period (100 HB) and checkpoints (60 HB)
  { nodes: 10, seed: 3, untilHb: 130 },
  // 10 % loss; duplicates, reordering and clock skew
  { nodes: 100, seed: 2, loss: 0.1 },
  { nodes: 30, seed: 4, dup: 0.1, reorder: 0.2, skewMs: 2000 },
  // reboot storms: settled flock (10 %, 90 %), and while still forming (50 % at HB 2)
  { nodes: 100, seed: 5, reboot: { atHb: 20, fraction: 0.1 } },
  { nodes: 100, seed: 5, reboot: { atHb: 20, fraction: 0.9 } },
  { nodes: 100, seed: 6, reboot: { atHb: 2, fraction: 0.5 } },
  // partition into halves, then heal; every node cut off alone for 15 HB (lone leaders promote), then heal
  { nodes: 40, seed: 2, partition: { atHb: 20, groups: 2, healHb: 60 } },
  { nodes: 30, seed: 9, partition: { atHb: 20, groups: 30, healHb: 35 } },
  // the leader crashes; a random 30 % crash
  { nodes: 30, seed: 3, crashLeaderAtHb: 20 },
  { nodes: 50, seed: 7, crash: { atHb: 15, fraction: 0.3 } },
  // reboots that catch nodes alone (every node cut off), forming and syncing (probing-only, sparse;
  // 30 % loss keeps pulls in flight): since suspicion and the lone node's faster probing, the storms
  // above land on settled flocks only
  { nodes: 30, seed: 9, partition: { atHb: 10, groups: 30, healHb: 40 }, reboot: { atHb: 20, fraction: 0.5 } },
  { nodes: 100, seed: 6, probeDensity: 0.01, reboot: { atHb: 5, fraction: 0.5 } },
  { nodes: 100, seed: 8, loss: 0.3, reboot: { atHb: 3, fraction: 0.5 } },
  // four or five groups merging at 20–30 % loss: a member whose leader joined another flock (and whose cascade
  // ping was lost) re-pulls the list from it, now a following member
  // (it takes a lost ping: two runs, so that one protocol change does not lose it again)
  { nodes: 40, seed: 5, loss: 0.2, partition: { atHb: 10, groups: 4, healHb: 20 }, untilHb: 30 },
  { nodes: 50, seed: 5, loss: 0.3, partition: { atHb: 15, groups: 5, healHb: 25 }, untilHb: 35 },
  // list pulls answered late (see LATE_ANSWER_WALK)
  LATE_ANSWER_WALK,
  // (`leave` is never sent by the simulator: `left` and the leave transitions stay missed)
])

type StateNodeLike = AnyStateMachine['root']

function pathOf(node: StateNodeLike): string {
  return node.path.join('.')
}

function leavesOf(node: StateNodeLike): StateNodeLike[] {
  const kids = Object.values(node.states) as StateNodeLike[]
  return kids.length === 0 ? [node] : kids.flatMap(leavesOf)
}

function ancestry(node: StateNodeLike): StateNodeLike[] {
  const out: StateNodeLike[] = []
  for (let n: StateNodeLike | undefined = node; n !== undefined; n = n.parent as StateNodeLike | undefined) out.push(n)
  return out
}

function initialLeaf(node: StateNodeLike): StateNodeLike {
  let n = node
  while (Object.keys(n.states).length > 0) {
    const t = n.initial?.target?.[0] as StateNodeLike | undefined
    if (t === undefined) throw new Error(`state ${n.id} has children but no initial state`)
    n = t
  }
  return n
}

export function transitionLabel(source: string, event: string, target: string): string {
  return `${source} --${event}--> ${target}`
}

/** States and transitions of `machine`, as defined in the module comment. */
export function chartUniverse(machine: AnyStateMachine = flockLogic): ChartUniverse {
  const leaves = leavesOf(machine.root)
  const live = leaves.filter((l) => l.type !== 'final')
  const initial = pathOf(initialLeaf(machine.root))
  const transitions = [transitionLabel('(initial)', 'xstate.init', initial)]
  const eventTargets = new Map<string, Map<string, string[]>>()
  for (const leaf of live) {
    const a = pathOf(leaf)
    const byEvent = new Map<string, string[]>()
    // The nearest handler wins, as in XState: walk from the leaf up.
    for (const node of ancestry(leaf)) {
      for (const [event, defs] of node.transitions) {
        if (byEvent.has(event)) continue
        const targets = new Set<string>()
        for (const d of defs) {
          if (d.target === undefined || d.target.length === 0) targets.add(a)
          else for (const t of d.target) for (const tl of leavesOf(t as StateNodeLike)) targets.add(pathOf(tl))
        }
        byEvent.set(event, [...targets])
      }
    }
    for (const event of [...byEvent.keys()].sort()) for (const t of byEvent.get(event)!) transitions.push(transitionLabel(a, event, t))
    eventTargets.set(a, byEvent)
  }
  // Routing: eventless transitions of every state node, from each live leaf under it.
  const walk = (node: StateNodeLike): void => {
    const under = leavesOf(node).filter((l) => l.type !== 'final').map(pathOf)
    for (const d of node.always ?? []) {
      for (const t of d.target ?? []) {
        for (const b of leavesOf(t as StateNodeLike).map(pathOf)) for (const a of under) if (a !== b) transitions.push(transitionLabel(a, 'always', b))
      }
    }
    for (const kid of Object.values(node.states) as StateNodeLike[]) walk(kid)
  }
  walk(machine.root)
  return { states: leaves.map(pathOf), transitions: [...new Set(transitions)], initial, eventTargets }
}

/** A state value (`{ leader: 'alone' }`, `'rebooting'`) as a path. */
export function statePath(value: unknown): string {
  if (typeof value === 'string') return value
  const entries = Object.entries(value as Record<string, unknown>)
  if (entries.length !== 1) throw new Error(`not a single-leaf state value: ${JSON.stringify(value)}`)
  const [k, v] = entries[0]!
  return `${k}.${statePath(v)}`
}

/** Collects coverage from steps (feed it `onStep`); `result()` compares with the universe. */
export function coverageTracker(universe: ChartUniverse = chartUniverse()) {
  const at = new Map<string, string>()
  const states = new Set<string>()
  const transitions = new Set<string>()
  let steps = 0
  return {
    onStep(node: string, step: StepInfo): void {
      steps++
      if (step.error !== undefined) return
      const b = statePath(step.state)
      if (step.event.type === 'xstate.init') {
        transitions.add(transitionLabel('(initial)', 'xstate.init', b))
        states.add(b)
        at.set(node, b)
        return
      }
      if (!at.has(node)) {
        states.add(universe.initial)
        transitions.add(transitionLabel('(initial)', 'xstate.init', universe.initial))
      }
      const a = at.get(node) ?? universe.initial
      at.set(node, b)
      states.add(b)
      const targets = universe.eventTargets.get(a)?.get(step.event.type)
      // An event the state does not handle, or a step after the final state: recorded as seen, off the universe.
      const mid = targets === undefined ? a : targets.includes(b) ? b : targets.length === 1 ? targets[0]! : a
      transitions.add(transitionLabel(a, step.event.type, mid))
      if (mid !== b) transitions.add(transitionLabel(mid, 'always', b))
    },
    get steps(): number {
      return steps
    },
    result(): FlockCoverage {
      const split = (all: string[], seen: Set<string>) => ({ covered: all.filter((x) => seen.has(x)), missed: all.filter((x) => !seen.has(x)) })
      const s = split(universe.states, states)
      const t = split(universe.transitions, transitions)
      return {
        states: s,
        transitions: t,
        ratio: { states: s.covered.length / universe.states.length, transitions: t.covered.length / universe.transitions.length },
      }
    },
  }
}

/** Runs each simulation with a coverage observer (chained before any `onStep` of its own) and returns the union. */
export async function flockCoverage(runs: readonly SimOptions[]): Promise<FlockCoverage> {
  const tracker = coverageTracker()
  for (const [i, run] of runs.entries()) {
    const own = run.onStep
    await runSim({
      ...run,
      onStep: (node, step) => {
        tracker.onStep(`${i}:${node}`, step)
        own?.(node, step)
      },
    })
  }
  return tracker.result()
}
