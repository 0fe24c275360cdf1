/**
 * grpc.health.v1 (Check and Watch), written out instead of loaded: grpc-health-check parses its
 * .proto with proto-loader when it is added to a server, which cost every fulcrum ≈ 50 ms of start-up
 * CPU for two messages of one field each. Same behaviour: Check of an unknown service is NOT_FOUND;
 * Watch sends the status now (SERVICE_UNKNOWN if none) and every change after.
 */
import * as grpc from '@grpc/grpc-js'
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire'

/** A service's status; `SERVICE_UNKNOWN` forgets it (Check is NOT_FOUND again, watchers are told). */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'

const STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const

/** HealthCheckRequest { string service = 1 }. */
function decodeRequest(b: Buffer): { service: string } {
  const r = new BinaryReader(b)
  let service = ''
  while (r.pos < r.len) {
    const [field, wire] = r.tag()
    if (field === 1 && wire === 2) service = r.string()
    else r.skip(wire)
  }
  return { service }
}

/** HealthCheckResponse { ServingStatus status = 1 }. */
function encodeResponse(status: keyof typeof STATUS): Buffer {
  return Buffer.from(new BinaryWriter().uint32(8).int32(STATUS[status]).finish())
}

const method = (name: string, responseStream: boolean) => ({
  path: `/grpc.health.v1.Health/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: (v: Buffer) => v,
  requestDeserialize: decodeRequest,
  responseSerialize: (v: Buffer) => v,
  responseDeserialize: (v: Buffer) => v,
})

export class Health {
  private readonly statuses = new Map<string, ServingStatus>()
  private readonly watchers = new Map<string, Set<(s: ServingStatus) => void>>()

  constructor(initial: Record<string, ServingStatus> = {}) {
    for (const [k, v] of Object.entries(initial)) this.statuses.set(k, v)
  }

  setStatus(service: string, status: ServingStatus): void {
    if ((this.statuses.get(service) ?? 'SERVICE_UNKNOWN') === status) return
    // A service that is gone is not kept as NOT_SERVING for ever: one entry per service ever
    // registered would grow without bound on a node whose services come and go.
    if (status === 'SERVICE_UNKNOWN') this.statuses.delete(service)
    else this.statuses.set(service, status)
    for (const w of this.watchers.get(service) ?? []) w(status)
  }

  addToServer(server: grpc.Server): void {
    server.addService({ Check: method('Check', false), Watch: method('Watch', true) } as unknown as grpc.ServiceDefinition, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const s = this.statuses.get(call.request.service)
        if (s === undefined) return cb({ code: grpc.status.NOT_FOUND, details: `Health status unknown for service ${call.request.service}` })
        cb(null, encodeResponse(s))
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, Buffer>) => {
        const name = call.request.service
        const watcher = (s: ServingStatus) => call.write(encodeResponse(s))
        let set = this.watchers.get(name)
        if (set === undefined) this.watchers.set(name, (set = new Set()))
        set.add(watcher)
        call.on('cancelled', () => {
          set!.delete(watcher)
          if (set!.size === 0) this.watchers.delete(name)
        })
        call.write(encodeResponse(this.statuses.get(name) ?? 'SERVICE_UNKNOWN'))
      },
    })
  }
}
