import test from 'ava'
import * as grpc from '@grpc/grpc-js'
import * as loader from '@grpc/proto-loader'
import { spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import type { DemoService } from '../../bin/commands/demo-services.js'

type Table = { flock: string; leader: string; members: Array<{ id: string; addr: string; leader: boolean }>; services: DemoService[]; viz: string; beacon: string }

const crux = (...args: string[]) => spawnSync(process.execPath, ['dist/bin/crux.js', ...args], { encoding: 'utf8', timeout: 90_000 })

// Serial: each runs five fulcrums, on a machine of two cores.
test.serial('crux demo starts a local flock, prints its member table once agreed, and stops it', (t) => {
  const r = crux('demo', '--base', '127.79.60.31', '--heartbeat', '200', '--exit-when-agreed', '--json', '--viz-port', '0', '--no-services')
  t.is(r.status, 0, r.stderr)
  const table = JSON.parse(r.stdout) as Table
  t.regex(table.viz, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  t.is(table.beacon, '127.79.60.31:28351')
  t.is(table.members.length, 5)
  t.deepEqual(table.members.map((m) => m.addr), [31, 32, 33, 34, 35].map((i) => `127.79.60.${i}:23123`))
  t.is(table.members.filter((m) => m.leader).length, 1)
  t.is(table.members.find((m) => m.leader)!.id, table.leader)
  t.deepEqual(table.services, [])
  t.is(spawnSync('pgrep', ['-f', 'fulcrum --listen 127.79.60.3'], { encoding: 'utf8' }).stdout.trim(), '', 'no fulcrum left running')
})

test.serial('the demo runs the examples, and the gRPC relay on the second node answers a grpc-js call with what the echo on the first said; Ctrl-C ends them all', async (t) => {
  const demo = spawn(process.execPath, ['dist/bin/crux.js', 'demo', '--base', '127.79.60.21', '--heartbeat', '200', '--json', '--viz-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  demo.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const exited = new Promise<number | null>((resolve) => demo.on('exit', (code) => resolve(code)))
  t.teardown(() => void (demo.exitCode === null && demo.kill('SIGKILL')))
  // The table comes once the flock agreed and the services run (within the demo's own 30 s).
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`no table within 90 s; stderr: ${stderr}`)), 90_000)
    demo.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s
      if (out.includes('\n')) {
        clearTimeout(timer)
        resolve(out.slice(0, out.indexOf('\n')))
      }
    })
    void exited.then((code) => reject(new Error(`demo exited ${code}: ${stderr}`)))
  })
  const table = JSON.parse(line) as Table
  const [echo, relay] = table.services
  t.like(echo, { name: 'echo', node: table.members[0]!.id, protocol: 'http' })
  t.like(relay, { name: 'relay', node: table.members[1]!.id, protocol: 'grpc' })
  t.regex(echo!.address, /^127\.79\.60\.21:\d+$/)
  t.regex(relay!.address, /^127\.79\.60\.22:\d+$/)
  t.is(echo!.call, `curl -d hello http://${echo!.address}/`)
  t.is(relay!.proto, join(process.cwd(), 'examples', 'relay', 'relay.proto'))
  t.is(relay!.call, `grpcurl -plaintext -import-path ${dirname(relay!.proto!)} -proto relay.proto -d '{"text":"hello"}' ${relay!.address} crux.examples.Relay/Say`)
  // Called for real, from the proto the demo names: the relay found the echo through its node's catalog.
  const defs = grpc.loadPackageDefinition(loader.loadSync(['relay.proto', 'health.proto'], { includeDirs: [dirname(relay!.proto!)], enums: String })) as any
  const client = new defs.crux.examples.Relay(relay!.address, grpc.credentials.createInsecure())
  const health = new defs.grpc.health.v1.Health(relay!.address, grpc.credentials.createInsecure())
  const unary = (c: any, method: string, req: object): Promise<any> => new Promise((resolve, reject) => c[method](req, { deadline: Date.now() + 10_000 }, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))))
  t.deepEqual(await unary(client, 'Say', { text: 'hello' }), { text: 'hello', echoInstance: 'echo_1', echoAddress: echo!.address, relayedBy: 'relay' })
  t.deepEqual(await unary(health, 'Check', { service: '' }), { status: 'SERVING' })
  client.close()
  health.close()
  demo.kill('SIGINT')
  t.is(await exited, 0, stderr)
  t.is(spawnSync('pgrep', ['-f', 'fulcrum --listen 127.79.60.2'], { encoding: 'utf8' }).stdout.trim(), '', 'no fulcrum left running')
  // Nothing answers where the services were: they ended with their fulcrums.
  for (const s of table.services) t.false(answers(s.address), `${s.name} still answers at ${s.address}`)
})

/** Whether something accepts a TCP connection at host:port (a child process asks, so the test stays synchronous). */
function answers(address: string): boolean {
  const [host, port] = address.split(':')
  const probe = `require('net').connect(${Number(port)}, ${JSON.stringify(host)}).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`
  return spawnSync(process.execPath, ['-e', probe], { timeout: 5000 }).status === 0
}

test('crux demo refuses a non-loopback base address', (t) => {
  const r = crux('demo', '--base', '10.0.0.1')
  t.is(r.status, 2)
  t.regex(r.stderr, /^crux: --base must be a loopback address/)
})
