/**
 * Server reflection (grpc.reflection.v1 and v1alpha), loaded on its first call. @grpc/reflection
 * needs the services' .proto files parsed (proto-loader, protobufjs) and parses its own: ≈ 100 ms of
 * CPU that every fulcrum paid at start-up for a service only `grpcurl` and its kind ever call. Here the
 * two methods are registered with the bytes passed through, and the first call loads the real
 * implementation and hands it the call's messages, decoded, and its answers, encoded.
 */
import type * as grpc from '@grpc/grpc-js'
import { EventEmitter } from 'node:events'

type Captured = Map<string, { def: grpc.MethodDefinition<unknown, unknown>; handler: grpc.handleBidiStreamingCall<unknown, unknown> }>

const PATHS = ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo']
const bytes = (b: Buffer) => b

/** Registers reflection over the .proto files `protos` (paths under `includeDir`) on `server`. */
export function addLazyReflection(server: grpc.Server, includeDir: string, protos: readonly string[]): void {
  let loaded: Promise<Captured> | undefined
  const load = async (): Promise<Captured> => {
    const [{ ReflectionService }, { loadSync }] = await Promise.all([import('@grpc/reflection'), import('@grpc/proto-loader')])
    const pkg = loadSync([...protos], { includeDirs: [includeDir], keepCase: false, longs: String, enums: String, defaults: true })
    const captured: Captured = new Map()
    // The real service adds itself to a server: give it one that only remembers what it was given.
    const recorder = {
      addService(def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) {
        for (const [name, d] of Object.entries(def)) captured.set(d.path, { def: d, handler: (impl[name] ?? impl[(d as { originalName?: string }).originalName ?? '']) as grpc.handleBidiStreamingCall<unknown, unknown> })
      },
    }
    new ReflectionService(pkg).addToServer(recorder as unknown as grpc.Server)
    return captured
  }
  for (const path of PATHS) {
    const [, service, method] = /^\/(.+)\/(.+)$/.exec(path)!
    const definition = { [method!]: { path, requestStream: true, responseStream: true, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes } }
    server.addService(definition as unknown as grpc.ServiceDefinition, {
      [method!]: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        // Messages that arrive while the implementation loads wait for it.
        const early: Buffer[] = []
        let ended = false
        const take = (b: Buffer) => early.push(b)
        call.on('data', take)
        call.on('end', () => (ended = true))
        ;(loaded ??= load())
          .then((captured) => {
            const real = captured.get(path)
            if (real === undefined) throw new Error(`no ${service} in @grpc/reflection`)
            // The call as the real handler sees it: decoded messages in, objects out.
            const adapter = Object.assign(new EventEmitter(), {
              write: (m: unknown) => call.write(real.def.responseSerialize(m)),
              end: () => call.end(),
            })
            real.handler(adapter as unknown as grpc.ServerDuplexStream<unknown, unknown>)
            call.off('data', take)
            call.on('data', (b: Buffer) => adapter.emit('data', real.def.requestDeserialize(b)))
            call.on('end', () => adapter.emit('end'))
            for (const b of early) adapter.emit('data', real.def.requestDeserialize(b))
            if (ended) adapter.emit('end')
          })
          .catch((err: Error) => call.destroy(err))
      },
    })
  }
}
