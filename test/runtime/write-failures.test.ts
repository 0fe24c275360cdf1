/**
 * A refused write is survived (issue 13 item 3): the flock actor's checkpoint, put through its host
 * into a real FileStore behind a test double that throws EMFILE, is reported and retried; the node
 * goes on, and the checkpoint reaches the disk once the store takes writes again (on the virtual
 * clock, so the 60-heartbeat checkpoint period costs nothing). A journal on a full disk (/dev/full:
 * every write ENOSPC) ends, said once, and the host recording into it goes on.
 */
import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFlockActor } from '../../actors/flock/flock.actor.js'
import { flockMachine } from '../../machines/flock.machine.js'
import type { HostLogger } from '../../runtime/host.js'
import { SimNetwork } from '../../runtime/sim-network.js'
import { FileStore } from '../../runtime/store.js'
import { FileSink, Recorder } from '../../runtime/recorder.js'
import { FailingStore } from '../fixtures/failing-store.js'

const HB = 1000

test('a flock checkpoint refused with EMFILE is reported, the node goes on, and the retry writes it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-persist-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const files = new FileStore(dir)
  const store = new FailingStore(files)
  const logs: Array<{ level: string; msg: string; fields: Record<string, unknown> | undefined }> = []
  const logger: HostLogger = { child: () => logger, log: (level, _tag, fields, msg) => void logs.push({ level, msg, fields }) }
  const net = new SimNetwork({ seed: 1 })
  store.failWith = 'EMFILE'
  const flock = createFlockActor(
    { transport: net.endpoint('n0'), clock: net.clockFor('n0'), store, logger },
    { node: 'n0', input: { self: { addr: 'n0' }, config: { hbMs: HB }, probe: { seeds: [], ranges: [], density: 1 }, seed: 's' } },
  )
  t.teardown(() => flock.close())
  net.clock.runUntil(65 * HB)
  t.true(store.refused >= 1, 'the checkpoint was attempted')
  t.is(files.get(flock.id, 'checkpoint'), undefined)
  const failed = logs.find((l) => l.msg === 'persist failed; will retry')
  t.like(failed, { level: 'error', fields: { key: 'checkpoint', error: 'EMFILE' } })
  t.not(flock.role(), 'failed')
  t.deepEqual(flock.host.persistStatus(), { failures: store.refused, pending: 1 })

  store.failWith = null
  net.clock.runUntil(net.clock.now() + 70 * HB)
  t.not(files.get(flock.id, 'checkpoint'), undefined)
  t.true(logs.some((l) => l.msg === 'persist recovered'))
  t.is(flock.host.persistStatus().pending, 0)
  t.not(flock.role(), 'failed')
})

test('a journal the disk refuses (ENOSPC) ends with one report; the node recording it goes on', (t) => {
  const errors: string[] = []
  const sink = new FileSink('/dev/full', 256, (err) => errors.push((err as NodeJS.ErrnoException).code ?? err.message))
  const recorder = new Recorder(sink, { node: 'n0', seed: 's', config: {}, machines: { [flockMachine.name]: flockMachine.version } })
  const net = new SimNetwork({ seed: 2 })
  const flock = createFlockActor(
    { transport: net.endpoint('n0'), clock: net.clockFor('n0'), recorder },
    { node: 'n0', input: { self: { addr: 'n0' }, config: { hbMs: HB }, probe: { seeds: [], ranges: [], density: 1 }, seed: 's' } },
  )
  t.teardown(() => flock.close())
  net.clock.runUntil(20 * HB)
  recorder.close()
  t.deepEqual(errors, ['ENOSPC'])
  t.not(sink.failure, null)
  t.true(flock.host.counters.deliveries > 20)
  t.not(flock.role(), 'failed')
})
