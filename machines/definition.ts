/**
 * A named, versioned machine: what the runtime spawns, what a journal header lists, and what replay
 * looks up. Bump `version` whenever a change to the machine would make old journals replay
 * differently, so replay refuses a mismatched journal instead of reporting a bogus divergence.
 *
 * Pure module: imports only xstate types.
 */
import type { AnyStateMachine } from 'xstate'

export interface MachineDefinition<TLogic extends AnyStateMachine = AnyStateMachine> {
  readonly name: string
  readonly version: string
  readonly logic: TLogic
}

/** Wraps a machine with its registry name and version. */
export function defineMachine<TLogic extends AnyStateMachine>(
  name: string,
  version: string,
  logic: TLogic,
): MachineDefinition<TLogic> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new TypeError(`machine name ${JSON.stringify(name)} must be kebab-case`)
  return { name, version, logic }
}
