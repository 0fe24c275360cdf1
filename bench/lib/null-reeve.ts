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
 *
 * DURABLE `durable` (a fifth argument) makes each RegisterService as durable as the least a server
 * that keeps registrations on disk must do: one 280-byte positioned write into a file preallocated
 * with zeros (as runtime/log-store.ts and etcd's WAL write ahead) and one fdatasync, on the main
 * thread, before the answer. What it then answers is the ceiling of a durable put on this stack.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { keyIdOf } from '../../actors/strew/registration.js'
import { REEVE_REV } from '../../actors/strew/registry-client.js'
import { ReeveServiceService, type GetCatalogResponse, type RegisterServiceResponse, type ReeveServicePingResponse } from '../../protos/gen/crux/v1/reeve.js'
import { createSecureServer, unary } from '../../runtime/grpc-server.js'
import { certifyNode } from '../../runtime/grpc-tls.js'
import { loadOrCreateIdentity, nodeIdOf } from '../../runtime/node-identity.js'
import { readSecretFile } from '../../runtime/secret.js'

const [stack, host, dataDir, secretFile, durable] = process.argv.slice(2) as [string, string, string, string, string | undefined]
const identity = loadOrCreateIdentity(dataDir)
const tls = certifyNode(dataDir, readSecretFile(secretFile), identity)
const node = nodeIdOf(identity.publicKey)
const ping: ReeveServicePingResponse = { text: 'pong', nodeId: `/crux/default/${node}`, steward: `${host}:0`, term: 1 }
const registered: RegisterServiceResponse = { version: 1 }
const catalog: GetCatalogResponse = { endpoints: [], version: 1 }
const persist = durable === 'durable' ? createWriteAhead(join(dataDir, 'null.log')) : () => {}
const impl = {
  ping: unary(() => ping),
  registerService: unary(() => {
    persist()
    return registered
  }),
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

/** A 280-byte record written into zeros written ahead and fdatasynced, per call. */
function createWriteAhead(path: string): () => void {
  const SIZE = 64 << 20
  const fd = openSync(path, 'w+')
  const zeros = Buffer.alloc(1 << 20)
  for (let at = 0; at < SIZE; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at)
  fdatasyncSync(fd)
  const record = Buffer.alloc(280, 0x61)
  let at = 0
  process.once('exit', () => closeSync(fd))
  return () => {
    if (at + record.length > SIZE) at = 0
    writeSync(fd, record, 0, record.length, at)
    at += record.length
    fdatasyncSync(fd)
  }
}
