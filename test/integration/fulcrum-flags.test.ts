/** Bad flags, secret files and data dirs: one clear `crux: …` line, a non-zero exit, nothing started. */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSecret } from '../../runtime/secret.js'

const crux = (...args: string[]) => spawnSync(process.execPath, ['dist/bin/crux.js', ...args], { encoding: 'utf8', timeout: 30_000 })

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-flags-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

const oneLine = (t: import('ava').ExecutionContext, r: ReturnType<typeof crux>, code: number, pattern: RegExp) => {
  t.is(r.status, code, r.stderr)
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  t.regex(r.stderr, pattern)
}

test('no secret file: refused', (t) => oneLine(t, crux('fulcrum', '--listen', '127.77.24.1:23123'), 2, /^crux: required option '--secret-file/))

test('a missing secret file: refused, naming it', (t) => {
  oneLine(t, crux('fulcrum', '--listen', '127.77.24.1:23123', '--secret-file', '/nonexistent/s'), 2, /^crux: cannot read secret file \/nonexistent\/s \(ENOENT\)/)
})

test('a secret file that is not 32 base64 bytes: refused', (t) => {
  const d = dir(t)
  writeFileSync(join(d, 'short'), Buffer.from('too short').toString('base64'))
  writeFileSync(join(d, 'junk'), '%%% not base64 %%%')
  oneLine(t, crux('fulcrum', '--listen', '127.77.24.1:23123', '--secret-file', join(d, 'short')), 2, /holds 9 bytes; a flock secret is 32/)
  oneLine(t, crux('fulcrum', '--listen', '127.77.24.1:23123', '--secret-file', join(d, 'junk')), 2, /is not base64/)
})

test('bad --listen, --probe, --heartbeat, --log-level: refused, naming the flag', (t) => {
  const d = dir(t)
  const secret = join(d, 's')
  writeFileSync(secret, generateSecret())
  const base = ['fulcrum', '--secret-file', secret, '--data-dir', join(d, 'data')]
  oneLine(t, crux(...base, '--listen', 'nowhere'), 2, /--listen must be HOST:PORT/)
  oneLine(t, crux(...base, '--listen', '127.77.24.1:23123', '--probe', '10.0.0.0/99'), 2, /--probe "10.0.0.0\/99": prefix length/)
  oneLine(t, crux(...base, '--listen', '127.77.24.1:23123', '--probe', 'host:0'), 2, /port "0" is not in 1–65535/)
  oneLine(t, crux(...base, '--listen', '127.77.24.1:23123', '--probe', '@/nonexistent'), 2, /cannot read \/nonexistent/)
  oneLine(t, crux(...base, '--listen', '127.77.24.1:23123', '--heartbeat', '5'), 2, /--heartbeat must be from 50ms to 1m/)
  oneLine(t, crux(...base, '--listen', '127.77.24.1:23123', '--log-level', 'loud'), 2, /--log-level must be one of/)
})

test('bad --grpc, --horde, --key-budget, --rules: refused, naming the flag or the entry', (t) => {
  const d = dir(t)
  const secret = join(d, 's')
  writeFileSync(secret, generateSecret())
  writeFileSync(join(d, 'rules.json'), '[{"horde":"*","from":"Web","to":"db"}]')
  const base = ['fulcrum', '--secret-file', secret, '--data-dir', join(d, 'data'), '--listen', '127.77.24.1:23123']
  oneLine(t, crux(...base, '--grpc', 'nowhere'), 2, /--grpc must be HOST:PORT/)
  oneLine(t, crux(...base, '--horde', 'two words'), 2, /--horde must be 1–64 of letters/)
  oneLine(t, crux(...base, '--key-budget', '16'), 2, /--key-budget must be SOURCE,ALL/)
  oneLine(t, crux(...base, '--key-budget', '200,100'), 2, /--key-budget must be SOURCE,ALL: two whole numbers, 1 ≤ SOURCE ≤ ALL, got "200,100"/)
  oneLine(t, crux(...base, '--rules', '/nonexistent/r.json'), 2, /cannot read --rules \/nonexistent\/r\.json \(ENOENT\)/)
  oneLine(t, crux(...base, '--rules', join(d, 'rules.json')), 2, /rules\.json\[0\]\.to "db" must be a service name/)
})

test('a data dir that cannot be made: refused', (t) => {
  const d = dir(t)
  const secret = join(d, 's')
  writeFileSync(secret, generateSecret())
  writeFileSync(join(d, 'file'), 'x')
  oneLine(t, crux('fulcrum', '--listen', '127.77.24.2:23123', '--secret-file', secret, '--data-dir', join(d, 'file', 'sub')), 2, /cannot use data dir .* \(ENOTDIR\)/)
})

test('an address already in use: one line, exit 1', (t) => {
  const d = dir(t)
  const secret = join(d, 's')
  writeFileSync(secret, generateSecret())
  const dgram = spawnSync(process.execPath, [
    '-e',
    `const s=require('node:dgram').createSocket('udp4');s.bind(23123,'127.77.24.3',()=>{const r=require('node:child_process').spawnSync(process.execPath,['dist/bin/crux.js','fulcrum','--listen','127.77.24.3:23123','--secret-file',${JSON.stringify(secret)},'--data-dir',${JSON.stringify(join(d, 'data'))}],{encoding:'utf8'});process.stdout.write(JSON.stringify({status:r.status,stderr:r.stderr}));s.close()})`,
  ], { encoding: 'utf8', timeout: 30_000 })
  const r = JSON.parse(dgram.stdout) as { status: number; stderr: string }
  t.is(r.status, 1)
  t.regex(r.stderr, /^crux: address 127.77.24.3:23123 is already in use\n$/)
})

test('crux keygen secret writes a usable secret once, and refuses to overwrite it', (t) => {
  const d = dir(t)
  const out = join(d, 'flock.secret')
  t.is(crux('keygen', 'secret', '--out', out).status, 0)
  oneLine(t, crux('keygen', 'secret', '--out', out), 2, /exists; refusing to overwrite/)
  const printed = crux('keygen', 'secret')
  t.is(Buffer.from(printed.stdout.trim(), 'base64').length, 32)
})

test('crux keygen node makes an Ed25519 identity once (mode 0600) and then reuses it', (t) => {
  const d = dir(t)
  const first = crux('keygen', 'node', '--data-dir', join(d, 'n'), '--json')
  t.is(first.status, 0, first.stderr)
  const a = JSON.parse(first.stdout) as { publicKey: string; path: string; created: boolean }
  t.true(a.created)
  t.is(Buffer.from(a.publicKey, 'base64').length, 32)
  t.is(statSync(a.path).mode & 0o777, 0o600)
  const again = JSON.parse(crux('keygen', 'node', '--data-dir', join(d, 'n'), '--json').stdout) as typeof a
  t.false(again.created)
  t.is(again.publicKey, a.publicKey)
  writeFileSync(a.path, 'garbage')
  oneLine(t, crux('keygen', 'node', '--data-dir', join(d, 'n')), 2, /does not hold an Ed25519 secret key .* refusing to replace it/)
})

test('crux keygen ca makes a CA once (key mode 0600) and refuses to overwrite it', (t) => {
  const d = dir(t)
  const r = crux('keygen', 'ca', '--out', join(d, 'ca'), '--json')
  t.is(r.status, 0, r.stderr)
  const ca = JSON.parse(r.stdout) as { publicKey: string; key: string; pub: string }
  t.is(Buffer.from(ca.publicKey, 'base64').length, 32)
  t.is(statSync(ca.key).mode & 0o777, 0o600)
  oneLine(t, crux('keygen', 'ca', '--out', join(d, 'ca')), 2, /ca\.key exists; refusing to overwrite a CA key/)
})

test('crux keygen cert: bad CA dir, bad bloc name and bad --days are one clear line each', (t) => {
  const d = dir(t)
  oneLine(t, crux('keygen', 'cert', '--ca', join(d, 'none'), '--data-dir', join(d, 'n'), '--bloc', 'blue'), 2, /^crux: cannot read CA key .*ca\.key \(ENOENT\)/)
  t.is(crux('keygen', 'ca', '--out', join(d, 'ca')).status, 0)
  oneLine(t, crux('keygen', 'cert', '--ca', join(d, 'ca'), '--data-dir', join(d, 'n'), '--bloc', 'no spaces'), 2, /^crux: --bloc must be 1–64 letters/)
  oneLine(t, crux('keygen', 'cert', '--ca', join(d, 'ca'), '--data-dir', join(d, 'n'), '--bloc', 'blue', '--days', '-1'), 2, /^crux: --days must be a number/)
  writeFileSync(join(d, 'ca', 'ca.key'), 'garbage')
  oneLine(t, crux('keygen', 'cert', '--ca', join(d, 'ca'), '--data-dir', join(d, 'n'), '--bloc', 'blue'), 2, /does not hold a CA key/)
})

test('a fulcrum with a damaged or tampered certificate refuses to start, naming the file', (t) => {
  const d = dir(t)
  const secret = join(d, 's')
  writeFileSync(secret, generateSecret() + '\n', { mode: 0o600 })
  t.is(crux('keygen', 'ca', '--out', join(d, 'ca')).status, 0)
  t.is(crux('keygen', 'cert', '--ca', join(d, 'ca'), '--data-dir', join(d, 'old'), '--bloc', 'blue').status, 0)
  const start = (dataDir: string) => crux('fulcrum', '--listen', '127.77.24.9:23123', '--secret-file', secret, '--data-dir', dataDir)
  writeFileSync(join(d, 'old', 'node.cert'), '{"version":1}')
  oneLine(t, start(join(d, 'old')), 2, /node\.cert: notAfter must be an ISO date/)
  t.is(crux('keygen', 'cert', '--ca', join(d, 'ca'), '--data-dir', join(d, 'n2'), '--bloc', 'blue').status, 0)
  const cert = JSON.parse(readFileSync(join(d, 'n2', 'node.cert'), 'utf8')) as Record<string, unknown>
  cert.notAfter = '2099-01-01T00:00:00.000Z' // a longer life than the CA signed
  writeFileSync(join(d, 'n2', 'node.cert'), JSON.stringify(cert))
  oneLine(t, start(join(d, 'n2')), 2, /node\.cert: bad signature/)
})
