// A gRPC service that calls another one (docs/SERVICES.md): crux.examples.Relay/Say passes its text
// on to the Echo1 service wherever the flock runs it, found in its node's catalog with
// confab.lookup (what `connect` picks), and answers with what the echo said and who said it. A failed
// call looks the service up again once: that is how a caller follows a service that was restarted,
// upgraded or moved to another node. It also serves grpc.health.v1 (SERVING until asked to quit).
//
// grpc-js and proto-loader are crux's own, loaded with confab.require: the manifest lists them under
// "modules", which lets the confined service read those packages. The .proto files are in the bundle.
//
//   crux pastiche put examples/relay
//   crux service start sha256:… --name relay
//   grpcurl -plaintext -import-path examples/relay -proto relay.proto -d '{"text":"hello"}' HOST:PORT crux.examples.Relay/Say
import { request } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const RELAY = 'crux.examples.Relay'

/** POSTs `body` to the HTTP service at `address` (host:port); its answer. */
function post(address, body) {
  const at = address.lastIndexOf(':')
  return new Promise((resolve, reject) => {
    const req = request({ host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)), method: 'POST', timeout: 2000 }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve(text))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('no answer in 2 s')))
    req.end(body)
  })
}

/** grpc.health.v1 for this server: one status for the server ('') and the Relay service, watched by Watch streams. */
function health(grpc) {
  let status = 'SERVING'
  const watchers = new Set()
  const known = (service) => service === '' || service === RELAY
  return {
    handlers: {
      Check(call, callback) {
        if (!known(call.request.service)) return callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` })
        callback(null, { status })
      },
      Watch(call) {
        call.write({ status: known(call.request.service) ? status : 'SERVICE_UNKNOWN' })
        if (!known(call.request.service)) return
        watchers.add(call)
        call.on('cancelled', () => watchers.delete(call))
      },
    },
    /** Says NOT_SERVING to every watcher and ends their streams: the service is going. */
    stop() {
      status = 'NOT_SERVING'
      for (const call of watchers) {
        call.write({ status })
        call.end()
      }
      watchers.clear()
    },
  }
}

export default async function relay(quit, alive, confab) {
  const grpc = confab.require('@grpc/grpc-js')
  const loader = confab.require('@grpc/proto-loader')
  const defs = grpc.loadPackageDefinition(loader.loadSync(['relay.proto', 'health.proto'], { includeDirs: [HERE], defaults: true }))

  let echo = null
  const call = async (text) => {
    for (let attempt = 0; attempt < 2; attempt++) {
      echo ??= await confab.lookup('Echo1')
      if (echo === null) throw new Error('no Echo1 service is up in the flock')
      try {
        return { text: await post(echo.address, text), echoInstance: echo.instance, echoAddress: echo.address, relayedBy: confab.name }
      } catch (err) {
        if (attempt === 1) throw err
        echo = null // moved or gone: look it up again
      }
    }
  }

  const server = new grpc.Server()
  server.addService(defs.crux.examples.Relay.service, {
    Say(rpc, callback) {
      call(rpc.request.text).then(
        (reply) => callback(null, reply),
        (err) => callback({ code: grpc.status.UNAVAILABLE, details: `${confab.name}: ${err.message}` }),
      )
    },
  })
  const checks = health(grpc)
  server.addService(defs.grpc.health.v1.Health.service, checks.handlers)
  const host = confab.host.includes(':') ? `[${confab.host}]` : confab.host
  const port = await new Promise((resolve, reject) => server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
  confab.listening(`${confab.host}:${port}`)
  await alive()
  const beat = setInterval(() => void alive(), Math.floor(confab.ttlMs / 3))
  await new Promise((resolve) => (quit.aborted ? resolve() : quit.addEventListener('abort', resolve, { once: true })))
  clearInterval(beat)
  checks.stop()
  // Calls under way may finish; whatever is left after a second is cut.
  const force = setTimeout(() => server.forceShutdown(), 1000)
  await new Promise((resolve) => server.tryShutdown(resolve))
  clearTimeout(force)
}
