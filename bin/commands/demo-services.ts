/**
 * The services `crux demo` runs on its flock (issue 17): the bundles in examples/ — an HTTP echo, and
 * a gRPC relay that calls the echo wherever it runs — put into the first node's pastiche and started
 * by picket, the echo on the first node and the relay on the second (which fetches its bundle from
 * the first). So the visualiser and `crux registry ls` show running services, and `curl` and
 * `grpcurl` can call them (each service comes with the command line that does).
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FulcrumProcess } from '../../actors/local/flock.js'
import type { ServiceInfo } from '../../protos/gen/crux/v1/picket.js'

/** The examples folder of this installation: beside dist/ (the package root), from the bundle or from tsc's output. */
export function examplesDir(from = import.meta.url): string | null {
  for (let dir = dirname(fileURLToPath(from)), i = 0; i < 4; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'examples', 'echo', 'crux-service.json'))) return join(dir, 'examples')
  }
  return null
}

/**
 * What the demo started: each service, the node running it, where it answers, its protocol, and a
 * command that calls it (`proto`: the gRPC service's .proto file, absolute, for a client of its own).
 */
export type DemoService = { name: string; node: string; address: string; protocol: 'http' | 'grpc'; call: string; proto?: string }

/** A path as a shell word: as it is when it needs no quoting, else in single quotes. */
const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** How to call each example at `address`, given the examples folder. */
function howToCall(name: string, address: string, examples: string): Pick<DemoService, 'protocol' | 'call' | 'proto'> {
  if (name === 'relay') {
    const dir = join(examples, 'relay')
    return {
      protocol: 'grpc',
      call: `grpcurl -plaintext -import-path ${shellWord(dir)} -proto relay.proto -d '{"text":"hello"}' ${address} crux.examples.Relay/Say`,
      proto: join(dir, 'relay.proto'),
    }
  }
  return { protocol: 'http', call: `curl -d hello http://${address}/` }
}

/** Puts the examples into the first node's store and starts them; resolves once both run (or throws why not, within `waitMs`). */
export async function startDemoServices(nodes: readonly FulcrumProcess[], waitMs: number): Promise<DemoService[]> {
  const examples = examplesDir()
  if (examples === null) throw new Error('no examples/ folder beside this crux')
  const { loadPeerTls } = await import('../../runtime/grpc-tls.js')
  const { packTar } = await import('../../actors/pastiche/tar.js')
  const { createPasticheClient } = await import('../../actors/pastiche/client.js')
  const { createPicketClient } = await import('../../actors/picket/client.js')
  const grpcOf = (n: FulcrumProcess) => n.addr.replace(/:\d+$/, ':50059')
  const first = nodes[0]!
  const on = [first, nodes[1] ?? first]
  const store = createPasticheClient({ address: grpcOf(first), tls: loadPeerTls(first.dataDir) })
  const hashes: string[] = []
  try {
    for (const name of ['echo', 'relay']) hashes.push((await store.put((await packTar(join(examples, name))) as AsyncIterable<Uint8Array>)).hash)
  } finally {
    store.close()
  }
  const started: DemoService[] = []
  for (const [i, name] of ['echo', 'relay'].entries()) {
    const node = on[i]!
    const picket = createPicketClient({ address: grpcOf(node), tls: loadPeerTls(node.dataDir) })
    try {
      await picket.start(name, hashes[i]!)
      const until = Date.now() + waitMs
      for (;;) {
        const s: ServiceInfo | undefined = (await picket.list()).find((x) => x.name === name)
        if (s !== undefined && s.state === 'running' && s.up) {
          started.push({ name, node: s.node, address: s.address, ...howToCall(name, s.address, examples) })
          break
        }
        if (s?.state === 'failed' || Date.now() > until) throw new Error(`the ${name} example did not start on ${node.addr}: ${s?.state ?? 'gone'}${s?.reason ? `: ${s.reason}` : ''}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    } finally {
      picket.close()
    }
  }
  return started
}
