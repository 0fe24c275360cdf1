/**
 * The product machines crux ships, by name. `crux version` lists them and replay looks journals'
 * machines up here. The runtime's own tests exercise it with machines declared in test/fixtures.
 */
import type { MachineDefinition } from './definition.js'
import { flockMachine } from './flock.machine.js'
import { followerMachine } from './follower.machine.js'
import { heartbeaterMachine } from './heartbeater.machine.js'
import { pasticheMachine } from './pastiche.machine.js'
import { picketMachine } from './picket.machine.js'
import { deanMachine } from './dean.machine.js'
import { proctorMachine } from './proctor.machine.js'
import { reeveMachine } from './reeve.machine.js'
import { registryMachine } from './registry.machine.js'
import { statusMachine } from './status.machine.js'
import { stewardMachine } from './steward.machine.js'
import { driverMachine } from './strew/driver.machine.js'

export const productMachines: readonly MachineDefinition[] = [flockMachine, statusMachine, heartbeaterMachine, stewardMachine, reeveMachine, followerMachine, registryMachine, driverMachine, pasticheMachine, picketMachine, deanMachine, proctorMachine]
