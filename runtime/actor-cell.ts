/**
 * One hosted machine: an XState interpreter plus the effects it emitted during the current step.
 *
 * Why the interpreter and not the pure `transition()`: measured on this machine (XState 5.33.3, a
 * 3-state machine with an assign and an emit) `actor.send` runs ≈ 205 000–219 000 steps/s against
 * ≈ 52 000–58 000/s for `transition()`, which re-resolves the snapshot on every call. The interpreter
 * stays deterministic here because nothing in it reads the world: it gets a clock that refuses to be
 * used (so a machine with `after`/delayed events fails loudly instead of silently using setTimeout),
 * events carry `now`, randomness lives in context, and effects come out as emitted records that this
 * cell collects synchronously. The same cell runs in the host and in the replayer, so both step
 * identically by construction.
 */
import { createActor, type AnyActorRef } from 'xstate'
import type { Effect, HostEvent } from '../machines/effects.js'
import type { MachineDefinition } from '../machines/definition.js'
import { EFFECT_TYPES } from '../machines/effects.js'

/** The result of one step. `error` is set when the machine threw; the cell is then dead. */
export interface StepResult {
  out: Effect[]
  error?: string
}

const forbiddenClock = {
  setTimeout(): never {
    throw new Error('hosted machines must request timers as effects (effect.setTimer), not with after/delay')
  },
  clearTimeout(): void {},
}

/** Shared by steps that emit nothing, so the common no-effect step allocates no array. */
const NO_EFFECTS: Effect[] = Object.freeze([]) as unknown as Effect[]

export class ActorCell {
  private readonly actor: AnyActorRef
  private out: Effect[] = NO_EFFECTS
  private failure: string | undefined

  /** Creates and starts the machine; the entry effects are returned by {@link takeStartEffects}. */
  constructor(
    readonly id: string,
    readonly def: MachineDefinition,
    input: unknown,
  ) {
    this.actor = createActor(def.logic, { input, clock: forbiddenClock as never })
    this.actor.on('*', (e: { type: string }) => {
      // Unknown emitted types are kept too (so replay compares them) but never executed by the host.
      if (this.out === NO_EFFECTS) this.out = []
      this.out.push(e as Effect)
    })
    this.actor.subscribe({
      error: (err: unknown) => {
        this.failure = err instanceof Error ? err.message : String(err)
      },
    })
    this.actor.start()
  }

  /** Effects of the initial state's entry actions (call once, right after construction). */
  takeStartEffects(): StepResult {
    return this.take()
  }

  /** Delivers one event and returns what it emitted. */
  step(event: HostEvent): StepResult {
    if (this.failure !== undefined) return { out: [], error: this.failure }
    this.actor.send(event)
    return this.take()
  }

  /** The machine's state value (`"idle"`, `{ leader: "stable" }`). */
  get value(): unknown {
    return this.actor.getSnapshot().value
  }

  /** The machine's context (read-only use: it is the live object). */
  get context(): unknown {
    return this.actor.getSnapshot().context
  }

  get failed(): boolean {
    return this.failure !== undefined
  }

  /** A JSON-serialisable snapshot (XState's persisted form). */
  persisted(): unknown {
    return this.actor.getPersistedSnapshot()
  }

  stop(): void {
    this.actor.stop()
  }

  private take(): StepResult {
    const out = this.out
    this.out = NO_EFFECTS
    if (this.failure === undefined && this.actor.getSnapshot().status === 'error') {
      this.failure = String(this.actor.getSnapshot().error)
    }
    return this.failure === undefined ? { out } : { out, error: this.failure }
  }
}

/** True when `e` is an effect the host knows how to execute. */
export function isExecutable(e: { type: string }): e is Effect {
  return EFFECT_TYPES.has(e.type)
}
