/**
 * `crux viz --beacon` started once the flock agreed: the members of a settled flock send the beacon
 * nothing, and MonInfo carries no addresses, so `--ask` (a Confab poll of the nodes) is what names
 * every node with its address and role; the live feed shows them all and explains one. Real
 * fulcrums on loopback, an in-process beacon.
 */
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBeacon } from '../../actors/monitor/beacon.js'
import { agreedOn, spawnFulcrum, type FulcrumProcess } from '../../actors/local/flock.js'
import type { LiveView } from '../../actors/viz/live.js'
import { RealClock } from '../../runtime/clock.js'
import { generateSecret, readSecretFile } from '../../runtime/secret.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'

const ADDRS = [1, 2, 3].map((i) => `127.77.132.${i}:23124`)

/** The first live view `ok` accepts, read from the server-sent events. */
async function liveUntil(url: string, ok: (v: LiveView) => boolean, ms: number): Promise<LiveView> {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), ms)
  let last: LiveView | undefined
  try {
    const res = await fetch(`${url}api/live`, { signal: ac.signal })
    let buf = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += Buffer.from(chunk).toString()
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        last = JSON.parse(buf.slice('data: '.length, i)) as LiveView
        buf = buf.slice(i + 2)
        if (ok(last)) return last
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err
  } finally {
    clearTimeout(timer)
    ac.abort()
  }
  throw new Error(`no such live view within ${ms} ms; the last: ${JSON.stringify(last)}`)
}

test('crux viz --beacon --ask, started once the flock agreed, shows every node with its address and explains one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-viz-late-'))
  const secretFile = join(dir, 'flock.secret')
  writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
  const beacon = createBeacon({ transport: await createUdpTransport({ host: '127.77.131.1', port: 0 }), clock: new RealClock() }, { secret: readSecretFile(secretFile), out: join(dir, 'mon.ndjson') })
  const nodes: FulcrumProcess[] = ADDRS.map((a, i) => spawnFulcrum(a, join(dir, `n${i}`), ['--probe', '127.77.132.0/30', '--secret-file', secretFile, '--heartbeat', '200', '--beacon', beacon.address]))
  let viz: ReturnType<typeof spawn> | undefined
  t.teardown(async () => {
    viz?.kill('SIGTERM')
    for (const n of nodes) n.child.kill('SIGTERM')
    await Promise.all(nodes.map((n) => n.exited))
    await beacon.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const deadline = Date.now() + 20_000
  while (!agreedOn(nodes, ADDRS.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  t.true(agreedOn(nodes, ADDRS.length), 'the fulcrums agreed')

  viz = spawn(process.execPath, ['dist/bin/crux.js', 'viz', '--beacon', beacon.address, '--secret-file', secretFile, '--ask', ADDRS[0]!, '--listen', '127.77.131.2:0', '--stable', '1'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    viz!.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('\n')) resolve(out.trim())
    })
    viz!.on('exit', (code) => reject(new Error(`crux viz exited ${code}`)))
  })
  const view = await liveUntil(url, (v) => v.flocks.length === 1 && v.flocks[0]!.stable && v.flocks[0]!.members.length === 3 && v.flocks[0]!.members.every((m) => m.role.includes('.')), 30_000)
  // A role with a sub-state (leader.stable, member.following) comes only from the node's own answer;
  // which source is newest at one moment is a race between the poll's answers and MonInfo.
  const f = view.flocks[0]!
  t.deepEqual(f.members.map((m) => m.addr).sort(), ADDRS)
  t.is(f.members[0]!.id, f.leader)
  t.regex(f.members[0]!.role, /^leader\./)
  t.true(f.members.slice(1).every((m) => m.role.startsWith('member.')))
  const member = f.members[1]!
  const why = (await (await fetch(`${url}api/live/node?id=${member.id}`)).json()) as { answer: string; basis: string }
  t.true(why.answer.startsWith(`${member.id} is not leader: it follows ${f.leader} (${f.members[0]!.addr}) in flock ${f.flock}`), why.answer)
  t.regex(why.basis, /^Based on its own Confab answer/)
})

test('crux viz refuses --ask without --beacon', (t) => {
  const r = spawnSync(process.execPath, ['dist/bin/crux.js', 'viz', 'x.ndjson', '--ask', '127.0.0.1:1'], { encoding: 'utf8' })
  t.is(r.status, 2)
  t.is(r.stderr, 'crux: --ask needs --beacon\n')
})
