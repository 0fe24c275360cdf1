/**
 * The route table a subsystem hands the gRPC road (runtime/grpc-road.ts, runtime/sim-grpc.ts): which
 * event types leave as which gRPC calls, which gRPC methods arrive as which events for which actor,
 * and how requests and answers map between events and messages. The road knows no subsystem: all it
 * knows is this table. The same table drives the real road and the simulated one, so its codecs run
 * in the simulator too.
 *
 * Events are JSON values (bytes as base64 strings), so the journal records them whole.
 */
import type { HostEvent } from '../machines/effects.js'
import { Code } from './errors.js'
import type { KeyLookup } from './grpc-server.js'

/** The status names a `call.failed` or `call.refused` carries (gRPC numbers exist only at the gRPC edge). */
export type CallCode = Exclude<keyof typeof Code, 'OK'>

/** The parts of a gRPC method definition the road uses (a ts-proto or grpc-js definition has them). */
export interface RoadMethod<Req = any, Res = any> {
  path: string
  responseStream: boolean
  requestSerialize(value: Req): Buffer
  requestDeserialize(bytes: Buffer): Req
  responseSerialize(value: Res): Buffer
  responseDeserialize(bytes: Buffer): Res
}

/** An event type that leaves as a call to `grpc://HOST:PORT/<name>`. */
export interface OutboundRoute<Req = any, Res = any, E extends HostEvent = any> {
  method: RoadMethod<Req, Res>
  /** The request message for `event` (may throw: the sender gets `call.failed` INVALID_ARGUMENT). */
  request(event: E): Req
  /** The event the sending actor gets for each response message (streaming: one per message). */
  answer(response: Res, event: E): HostEvent
  /** The call's deadline, ms (unary default 10 000; a stream has none unless given). */
  deadlineMs?: number
  /**
   * The request as the receiver would decode it, made without the codec when this node calls itself
   * (the self-address loop): fresh objects and arrays, the decoder's defaults for what is unset, the
   * sender's strings. Only for a message whose fields the request builder fills with values of their
   * types (then nothing is lost or changed on the wire); a test of the route checks the two agree.
   * Absent: the request is encoded and decoded.
   */
  loopCopy?(request: Req): Req
}

/** A gRPC method this node serves: its calls arrive as events at a local actor. */
export interface InboundRoute<Req = any, Res = any, A extends HostEvent = any> {
  method: RoadMethod<Req, Res>
  /** The actor that takes the calls: `<node>/<actor>`. */
  actor: string
  /** The event for a request (`caller`: the KeyID of the channel, '' for an open method); a throw is INVALID_ARGUMENT. */
  event(request: Req, caller: string): HostEvent
  /** The response message for an answer event the actor sent to `reply:<n>`. */
  response(answer: A): Res
  /** Whether an answer ends a server-streaming call (a unary call ends with its first answer). */
  terminal?(answer: A): boolean
  /** How long the actor has to give the terminal answer, ms (unary default 10 000; a stream waits for ever unless given). */
  deadlineMs?: number
  /**
   * What an answer must wait for before it leaves (e.g. the store's sync of what the step persisted:
   * a registration is acknowledged once it is on disk). Undefined: it leaves at once.
   */
  settle?(answer: A): Promise<void> | undefined
}

/** A gRPC service this node serves. `open`: anyone may call it (passed to the server's addService), and its calls get caller ''. */
export interface InboundService {
  /** The service definition, for the server (method names → definitions). */
  definition: Record<string, RoadMethod>
  /** Method name (a key of `definition`) → route. Methods without a route are left UNIMPLEMENTED. */
  methods: Record<string, InboundRoute>
  open?: boolean
  /** Whose keys the server accepts for this service; default: the server's own whitelist (passed to addService). */
  lookup?: KeyLookup
  /**
   * Methods answered by the edge itself, not by an actor: reads of state (a ping, a lookup) that change
   * nothing and so need no mailbox. The handler gets the call as grpc-js gives it (decoded messages).
   */
  direct?: Record<string, unknown>
}

/** What a subsystem hands the road. */
export interface RouteTable {
  /** By event type. */
  outbound: Record<string, OutboundRoute>
  inbound: InboundService[]
}

/** Adds other subsystems' routes to `table`: their services served beside its own, their event types leaving as calls. */
export function addRoutes(table: RouteTable, more: { inbound?: readonly InboundService[]; outbound?: Readonly<Record<string, OutboundRoute>> }): void {
  table.inbound.push(...(more.inbound ?? []))
  Object.assign(table.outbound, more.outbound ?? {})
}

/** The failure an actor gets for its request event `request` (with its `id`). */
export interface CallFailedEvent extends HostEvent {
  type: 'call.failed'
  id?: number
  request: string
  code: CallCode
  message: string
}

/** What an actor sends to `reply:<n>` to end a call with a status. */
export interface CallRefusedEvent extends HostEvent {
  type: 'call.refused'
  code: CallCode
  message: string
}

/** Default deadlines, ms. */
export const ROAD_DEFAULTS = { unaryDeadlineMs: 10_000, maxPending: 4096 } as const

const NAMES = new Set(Object.keys(Code).filter((k) => k !== 'OK'))

/** A gRPC status number as its name; an unknown number is UNKNOWN. */
export function callCodeOf(code: unknown): CallCode {
  const name = Object.entries(Code).find(([, v]) => v === code)?.[0]
  return name !== undefined && name !== 'OK' ? (name as CallCode) : 'UNKNOWN'
}

/** Whether `s` names a status (what a `call.refused` must carry). */
export function isCallCode(s: unknown): s is CallCode {
  return typeof s === 'string' && NAMES.has(s)
}

/** The `call.failed` event for `event`. */
export function callFailed(event: HostEvent, code: CallCode, message: string): CallFailedEvent {
  return { type: 'call.failed', ...(typeof event.id === 'number' ? { id: event.id } : {}), request: event.type, code, message }
}
