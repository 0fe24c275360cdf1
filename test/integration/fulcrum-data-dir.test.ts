/**
 * Damaged or edited data dirs on real fulcrum processes (issue 13 item 6): each kind of damaged file
 * stops `crux fulcrum` before it joins, with one line `crux: <file>: <what is wrong>` and a non-zero
 * exit (it used to print the line and run on, in the flock, without a reeve); a torn last line of the
 * reeve's log — what a kill -9 leaves — is repaired, said in a warning, and the fulcrum runs. Why it
 * ran on: the reeve's log was read after the UDP socket was bound, and a failed start left it open.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadOrCreateIdentity, nodeIdOf } from '../../runtime/node-identity.js'
import { generateSecret } from '../../runtime/secret.js'

/** How long a refused start may take: a hang guard for a loaded machine (a refusal takes ~0.5 s). */
const BOUND = 30_000

interface DataDir {
  dir: string
  secret: string
  id: string
  /** Writes `text` at `path` (relative to the data dir), making its directory. */
  write(path: string, text: string): string
}

function dataDir(t: import('ava').ExecutionContext): DataDir {
  const root = mkdtempSync(join(tmpdir(), 'crux-datadir-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const secret = join(root, 'flock.secret')
  writeFileSync(secret, generateSecret() + '\n', { mode: 0o600 })
  const dir = join(root, 'data')
  const id = nodeIdOf(loadOrCreateIdentity(dir).publicKey)
  const write = (path: string, text: string) => {
    const file = join(dir, path)
    mkdirSync(join(file, '..'), { recursive: true })
    writeFileSync(file, text)
    return file
  }
  return { dir, secret, id, write }
}

/** Runs `crux fulcrum` on `d` (any free ports); `onLine` may end it. Killed after {@link BOUND}. */
function fulcrum(d: DataDir, onLine: (line: string, kill: () => void) => void = () => {}, grpc = '127.77.26.1:0') {
  const args = ['dist/bin/crux.bundle.mjs', 'fulcrum', '--listen', '127.77.26.1:0', '--grpc', grpc, '--secret-file', d.secret, '--data-dir', d.dir, '--heartbeat', '200']
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const guard = setTimeout(() => child.kill('SIGKILL'), BOUND)
  child.stdout.on('data', (b: Buffer) => {
    const lines = (stdout + b.toString()).split('\n')
    stdout = lines.pop()!
    for (const l of lines) onLine(l, () => child.kill('SIGTERM'))
  })
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
  return new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(guard)
      resolve({ code, stderr })
    }),
  )
}

const svc = (id: string) => `/crux/default/${id}/Web/Api1`
const beat = (id: string, holdMs: unknown) => JSON.stringify({ k: 'beat/u-1', v: { uuid: 'u-1', nodeId: svc(id), holdMs } })
const log = (id: string) => `strew/${id}~reeve.log`
const checkpoint = (id: string) => `store/${id}~flock/checkpoint.json`
const goodCheckpoint = (id: string) => ({ id, flock: '_a_b', leader: null, history: [], known: [] })

/** Each damaged kind: what to write where, the exit code, and what the line must say after the file. */
const damaged: Array<[string, (d: DataDir) => string, number, RegExp]> = [
  ['a node key that is not a key', (d) => d.write('node.key', 'garbage\n'), 2, /^does not hold an Ed25519 secret key/],
  ['a certificate holding null', (d) => d.write('node.cert', 'null'), 2, /^not a certificate object$/],
  ['a checkpoint that is not JSON', (d) => d.write(checkpoint(d.id), '{"id":'), 1, /^not valid JSON$/],
  ['a checkpoint of the right shape but wrong types', (d) => d.write(checkpoint(d.id), JSON.stringify({ ...goodCheckpoint(d.id), history: [{ id: 5, addr: 'h:1', horde: '' }] })), 1, /^history\[0\]\.id must be a string of 0–64 bytes, got 5$/],
  ["another node's checkpoint", (d) => d.write(checkpoint(d.id), JSON.stringify(goodCheckpoint('n1111111111111111'))), 1, /^id "n1111111111111111" is not this node's id/],
  ["garbage inside the reeve's log", (d) => d.write(log(d.id), `${beat(d.id, 1000)}\ngarbage\n${beat(d.id, 2000)}\n`), 1, /^damaged at line 2 of 3 \(not JSON\)$/],
  ["a reeve record of the right shape but wrong types", (d) => d.write(log(d.id), `${beat(d.id, '1000')}\n`), 1, /^record "beat\/u-1": holdMs must be a positive number of ms, got "1000"$/],
]

for (const [what, damage, code, problem] of damaged) {
  test(`${what}: one line naming the file, exit ${code}, before joining`, async (t) => {
    const d = dataDir(t)
    const file = damage(d)
    let joined = false
    const r = await fulcrum(d, (line) => (joined ||= line.includes('"msg":"flock"')))
    t.is(r.code, code, r.stderr)
    t.false(joined, 'the fulcrum took part in a flock')
    t.is(r.stderr.split('\n').length, 2, r.stderr)
    t.true(r.stderr.startsWith(`crux: ${file}: `), r.stderr)
    t.regex(r.stderr.slice(`crux: ${file}: `.length).trimEnd(), problem)
  })
}

test("a torn last line of the reeve's log (kill -9 mid-write) is dropped, said, and the fulcrum runs", async (t) => {
  const d = dataDir(t)
  const file = d.write(log(d.id), `${beat(d.id, 1000)}\n{"k":"beat/u-2","v":{"uu`)
  let warned: { file?: string; what?: string } | undefined
  const r = await fulcrum(d, (line, kill) => {
    const rec = JSON.parse(line) as { level: number; msg: string; file?: string; what?: string }
    if (rec.msg === 'data dir file repaired') warned = rec
    if (rec.msg === 'flock') kill()
  })
  t.is(r.code, 0, r.stderr)
  t.is(r.stderr, '')
  t.is(warned?.file, file)
  t.regex(warned?.what ?? '', /^dropped a torn last line/)
  // The torn line is gone and the kept one first; what the node wrote after (its pastiche's registration) is whole.
  const text = readFileSync(file, 'utf8')
  t.true(text.startsWith(`${beat(d.id, 1000)}\n`), text)
  t.false(text.includes('beat/u-2'))
  for (const line of text.split('\n').filter((l) => l !== '')) t.notThrows(() => JSON.parse(line), line)
})

test('a start that fails after the UDP socket is bound (its gRPC port taken) ends the process, not just the start', async (t) => {
  const d = dataDir(t)
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.77.26.2', resolve))
  t.teardown(() => taken.close())
  let joined = false
  const r = await fulcrum(d, (line) => (joined ||= line.includes('"msg":"flock"')), `127.77.26.2:${(taken.address() as AddressInfo).port}`)
  t.not(r.code, null, 'the process ran on after its error line')
  t.not(r.code, 0)
  t.false(joined)
  t.regex(r.stderr, /\ncrux: cannot serve gRPC on 127\.77\.26\.2:\d+ .*\n$|^crux: cannot serve gRPC on 127\.77\.26\.2:\d+ .*\n$/)
})
