/**
 * The product machines crux ships, by name. `crux version` lists them and replay looks journals'
 * machines up here. The flock machines arrive with the flock (issue 4); until then the list is empty
 * and the runtime is exercised by machines declared in its tests.
 */
import type { MachineDefinition } from './definition.js'

export const productMachines: readonly MachineDefinition[] = []
