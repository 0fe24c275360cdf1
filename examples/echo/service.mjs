// An HTTP echo service run by picket (docs/SERVICES.md): it answers every request with what it was
// sent, on its node's host, and beats three times per ttl until its node asks it to quit.
//
//   crux pastiche put examples/echo                 # prints sha256:…
//   crux service start sha256:… --name echo
//   curl -d hello http://HOST:PORT/                 # HOST:PORT from crux service ls
import { createServer } from 'node:http'

export default async function echo(quit, alive, confab) {
  const server = createServer((req, res) => {
    res.setHeader('content-type', req.headers['content-type'] ?? 'text/plain')
    res.setHeader('x-served-by', confab.name)
    req.pipe(res)
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
