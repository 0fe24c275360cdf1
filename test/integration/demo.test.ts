import test from 'ava'
import { spawnSync } from 'node:child_process'

const crux = (...args: string[]) => spawnSync(process.execPath, ['dist/bin/crux.js', ...args], { encoding: 'utf8', timeout: 90_000 })

test('crux demo starts a local flock, prints its member table once agreed, and stops it', (t) => {
  const r = crux('demo', '--base', '127.77.25.1', '--heartbeat', '200', '--exit-when-agreed', '--json', '--viz-port', '0')
  t.is(r.status, 0, r.stderr)
  const table = JSON.parse(r.stdout) as { flock: string; leader: string; members: Array<{ id: string; addr: string; leader: boolean }>; viz: string; beacon: string }
  t.regex(table.viz, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  t.is(table.beacon, '127.77.25.1:28351')
  t.is(table.members.length, 5)
  t.deepEqual(table.members.map((m) => m.addr), [1, 2, 3, 4, 5].map((i) => `127.77.25.${i}:23123`))
  t.is(table.members.filter((m) => m.leader).length, 1)
  t.is(table.members.find((m) => m.leader)!.id, table.leader)
  // The examples run: the echo on the first node, the relay (its bundle fetched) on the second.
  const services = (table as unknown as { services: Array<{ name: string; node: string; address: string }> }).services
  t.deepEqual(services.map((s) => `${s.name} ${s.node}`), [`echo ${table.members[0]!.id}`, `relay ${table.members[1]!.id}`])
  t.regex(services[0]!.address, /^127\.77\.25\.1:\d+$/)
  t.regex(services[1]!.address, /^127\.77\.25\.2:\d+$/)
  const left = spawnSync('pgrep', ['-f', 'fulcrum --listen 127.77.25.'], { encoding: 'utf8' })
  t.is(left.stdout.trim(), '', 'no fulcrum left running')
  // Nothing answers where the services were: they ended with their fulcrums.
  for (const s of services) t.false(answers(s.address), `${s.name} still answers at ${s.address}`)
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
