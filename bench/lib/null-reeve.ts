/**
 * A reeve that does nothing, for bench/grpc-ceiling.ts: the ReeveService's Ping, RegisterService and
 * GetCatalog answered at once with empty answers, no mailbox, machine or disk behind them. What a
 * client gets from it is the most any server on the same gRPC stack could give that client on this
 * machine, so the fulcrum's figures can be read against it.
 *
 * Run as its own process (so it has a core of its own, as a fulcrum has):
 *   node dist/bench/lib/null-reeve.js STACK HOST DATA_DIR SECRET_FILE
 * STACK `crux`: crux's gRPC edge (runtime/grpc-server.ts: its own TLS listener, bounds, the per-call
 * KeyID check); `grpc-js`: a bare grpc-js server with grpc-js's own TLS credentials (mutual TLS,
 * same certificates), nothing else; `plain`: a bare grpc-js server in plaintext (as etcd-bench's etcd
 * is reached), nothing else. Prints `PORT` on stdout once it listens.
 */
import * as grpc from '@grpc/grpc-js'
import { keyIdOf } from '../../actors/strew/registration.js'
import { REEVE_REV } from '../../actors/strew/registry-client.js'
import { ReeveServiceService, type GetCatalogResponse, type RegisterServiceResponse, type ReeveServicePingResponse } from '../../protos/gen/crux/v1/reeve.js'
import { createSecureServer, unary } from '../../runtime/grpc-server.js'
import { certifyNode } from '../../runtime/grpc-tls.js'
import { loadOrCreateIdentity, nodeIdOf } from '../../runtime/node-identity.js'
import { readSecretFile } from '../../runtime/secret.js'

const [stack, host, dataDir, secretFile] = process.argv.slice(2) as [string, string, string, string]
const identity = loadOrCreateIdentity(dataDir)
const tls = certifyNode(dataDir, readSecretFile(secretFile), identity)
const node = nodeIdOf(identity.publicKey)
const ping: ReeveServicePingResponse = { text: 'pong', nodeId: `/crux/default/${node}`, steward: `${host}:0`, term: 1 }
const registered: RegisterServiceResponse = { version: 1 }
const catalog: GetCatalogResponse = { endpoints: [], version: 1 }
const impl = {
  ping: unary(() => ping),
  registerService: unary(() => registered),
  getCatalog: unary(() => catalog),
}

let port: number
if (stack === 'crux') {
  const key = keyIdOf(REEVE_REV, node, identity.publicKey)
  const server = createSecureServer({ host, port: 0, tls, lookup: (k) => (k === key ? identity.publicKey : undefined) })
  server.addService(ReeveServiceService, impl)
  const address = await server.start()
  port = Number(address.slice(address.lastIndexOf(':') + 1))
} else if (stack === 'grpc-js') {
  const server = new grpc.Server()
  server.addService(ReeveServiceService, impl)
  const creds = grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true)
  port = await new Promise<number>((resolve, reject) => server.bindAsync(`${host}:0`, creds, (err, p) => (err ? reject(err) : resolve(p))))
} else if (stack === 'plain') {
  const server = new grpc.Server()
  server.addService(ReeveServiceService, impl)
  port = await new Promise<number>((resolve, reject) => server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
} else {
  process.stderr.write(`crux: null-reeve: unknown stack ${JSON.stringify(stack)} (crux, grpc-js or plain)\n`)
  process.exit(2)
}
process.stdout.write(`${port}\n`)
