/**
 * The flock's events: what its wire carries (runtime/wire-codec.ts encodes and decodes exactly these)
 * and what its machine takes. One union for both, so the codec, the route and the machine cannot
 * disagree on a field. Pure types.
 */
import type { HeartbeatBatchEvent, HostEventOf, TimerFiredEvent } from '../effects.js'
import type { ConfabAnswer, ConfabQuery, Info, ListChunk, ListPull } from './types.js'

/** The protocol packet. */
export type InfoEvent = { type: 'info'; info: Info }
/** A member asks its leader for the list. */
export type ListPullEvent = { type: 'list.pull'; pull: ListPull }
/** One chunk of the leader's answer to a pull. */
export type ListChunkEvent = { type: 'list.chunk'; chunk: ListChunk }
/** A Confab query from outside the flock. */
export type ConfabQueryEvent = { type: 'confab.query'; query: ConfabQuery }
/** A node's answer to a Confab query (the asker's CLI reads it; no machine takes it). */
export type ConfabAnswerEvent = { type: 'confab.answer'; answer: ConfabAnswer }

/** The events the flock's wire carries, as the codec decodes them. */
export type FlockWireEvent = InfoEvent | ListPullEvent | ListChunkEvent | ConfabQueryEvent | ConfabAnswerEvent

/** A wire event as the transport bridge delivers it: `from` is the sender's address as the transport saw it. */
export type Received<E> = E & { from: string }

/** The node's own commands: an admin reboot (simulator, coverage walks) and a graceful leave. */
export type AdminRebootEvent = { type: 'admin.reboot' }
export type LeaveEvent = { type: 'leave' }

/**
 * Everything the flock machine takes. Info packets come one by one (data and control classes) or in
 * a heartbeat batch (beats, superseded per sender); a Confab query carries the address the answer
 * goes back to.
 */
export type FlockEvent = HostEventOf<
  | InfoEvent
  | HeartbeatBatchEvent<InfoEvent>
  | ListPullEvent
  | ListChunkEvent
  | Received<ConfabQueryEvent>
  | TimerFiredEvent
  | AdminRebootEvent
  | LeaveEvent
>
