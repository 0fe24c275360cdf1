// A service that calls another one (docs/SERVICES.md): every request is passed on to the Echo1
// service wherever the flock runs it, found in its node's catalog with confab.lookup, and answered
// with what the echo said and who said it. A failed call looks the service up again once: that is
// how a caller follows a service that was restarted, upgraded or moved to another node.
//
//   crux pastiche put examples/relay
//   crux service start sha256:… --name relay
//   curl -d hello http://HOST:PORT/                 # → relay_1 → echo_1 at …: hello
import { createServer, request } from 'node:http'

/** POSTs `body` to the service at `address` (host:port). */
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

export default async function relay(quit, alive, confab) {
  let echo = null
  const call = async (body) => {
    for (let attempt = 0; attempt < 2; attempt++) {
      echo ??= await confab.lookup('Echo1')
      if (echo === null) throw new Error('no Echo1 service is up in the flock')
      try {
        return `${echo.instance} at ${echo.address}: ${await post(echo.address, body)}`
      } catch (err) {
        if (attempt === 1) throw err
        echo = null // moved or gone: look it up again
      }
    }
  }
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c) => (body += c))
    req.on('end', () =>
      call(body).then(
        (said) => res.end(`${confab.name} → ${said}`),
        (err) => {
          res.statusCode = 502
          res.end(`${confab.name}: ${err.message}\n`)
        },
      ),
    )
  })
  await new Promise((resolve) => server.listen(0, confab.host, resolve))
  confab.listening(`${confab.host}:${server.address().port}`)
  await alive()
  const beat = setInterval(() => void alive(), Math.floor(confab.ttlMs / 3))
  await new Promise((resolve) => (quit.aborted ? resolve() : quit.addEventListener('abort', resolve, { once: true })))
  clearInterval(beat)
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
}
