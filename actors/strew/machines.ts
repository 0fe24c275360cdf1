/** The machines a host needs registered to run the strew layer (apart from actors/strew/strew.ts, which loads gRPC). */
import { followerMachine } from '../../machines/follower.machine.js'
import { heartbeaterMachine } from '../../machines/heartbeater.machine.js'
import { reeveMachine } from '../../machines/reeve.machine.js'
import { registryMachine } from '../../machines/registry.machine.js'
import { stewardMachine } from '../../machines/steward.machine.js'

export const strewMachines = [followerMachine, reeveMachine, heartbeaterMachine, stewardMachine, registryMachine]
