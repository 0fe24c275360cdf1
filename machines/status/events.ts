/** The status analyser's events: the MonInfo records it reads, its tick timer, and stop. Pure types. */
import type { HostEventOf, TimerFiredEvent } from '../effects.js'
import type { MonRecord } from './types.js'

/** One MonInfo record, as a beacon received it or a capture replays it. */
export type MonEvent = { type: 'mon'; mon: MonRecord }
/** The analyser stops (its tick timer is cancelled). */
export type StopEvent = { type: 'stop' }

/** Everything the status machine takes. */
export type StatusEvent = HostEventOf<MonEvent | TimerFiredEvent | StopEvent>
