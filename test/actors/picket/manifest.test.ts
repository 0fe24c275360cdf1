import test from 'ava'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MANIFEST_MAX_BYTES, ManifestError, parseManifest, readManifest } from '../../../actors/picket/manifest.js'
import { FIXTURES, tmp } from './harness.js'

const base = { api: 'Echo1', instance: 'echo_1', entry: 'service.mjs' }
const parse = (o: unknown) => parseManifest(JSON.stringify(o))
/** The one-line message parsing `o` fails with. */
const fault = (t: import('ava').ExecutionContext, o: unknown): string => {
  const err = t.throws(() => (typeof o === 'string' ? parseManifest(o) : parse(o)), { instanceOf: ManifestError })
  t.false(err!.message.includes('\n'))
  t.true(err!.message.startsWith('crux-service.json: '))
  return err!.message
}

test('a manifest with only the required fields takes every default', (t) => {
  t.deepEqual(parse(base), { service: 'Echo', api: 'Echo1', instance: 'echo_1', entry: 'service.mjs', kind: 'process', args: [], env: {}, ttlMs: 3000, startMs: 10_000, stopMs: 5000, graceMs: 5000, memoryMb: null, modules: [] })
  // The service a registration of the API gets by default (crux service register), versions with `_` too.
  t.is(parse({ ...base, api: 'Http1_0' }).service, 'Http')
})

test('every field given is kept', (t) => {
  const m = { ...base, service: 'Echoer', kind: 'worker', args: ['-v'], env: { A_1: 'x' }, ttlMs: 100, startMs: 200, stopMs: 0, graceMs: 9, memoryMb: 64, modules: ['@grpc/grpc-js', '@grpc/proto-loader'] }
  t.deepEqual(parse(m), m)
})

test('each required field missing is named', (t) => {
  for (const k of ['api', 'instance', 'entry'] as const) {
    const o: Record<string, unknown> = { ...base }
    delete o[k]
    t.is(fault(t, o), `crux-service.json: "${k}" is required`)
  }
})

test('names are checked against the catalog rules', (t) => {
  t.is(fault(t, { ...base, api: 'echo1' }), 'crux-service.json: "api" must match /^[A-Z][A-Za-z0-9_]*$/ (at most 64 characters), got "echo1"')
  t.regex(fault(t, { ...base, api: `E${'x'.repeat(64)}` }), /"api" must match/)
  t.regex(fault(t, { ...base, api: 7 }), /"api" must be a string/)
  t.regex(fault(t, { ...base, service: 'Reeve' }), /"service" must not be Reeve/)
  t.regex(fault(t, { ...base, service: 'my-svc' }), /"service" must match/)
  // The default service is the API without its digits, which must still be a service's name.
  t.regex(fault(t, { ...base, api: 'Reeve1' }), /"service" must not be Reeve/)
  t.is(parse({ ...base, api: 'Galumph2' }).service, 'Galumph')
  t.is(parse({ ...base, api: 'E' }).service, 'E')
  t.regex(fault(t, { ...base, instance: 'echo*' }), /"instance" must be 1–64 of letters/)
  t.regex(fault(t, { ...base, instance: '' }), /"instance"/)
  t.regex(fault(t, { ...base, instance: 'x'.repeat(65) }), /"instance"/)
})

test('the entry must be a relative path inside the bundle', (t) => {
  t.regex(fault(t, { ...base, entry: '../outside.mjs' }), /"entry" must stay inside the bundle \(no ".."\)/)
  t.regex(fault(t, { ...base, entry: 'lib/../../x.mjs' }), /no "\.\."/)
  t.regex(fault(t, { ...base, entry: '/etc/passwd' }), /"entry" must be a relative path/)
  t.regex(fault(t, { ...base, entry: '' }), /"entry" must be a non-empty string/)
})

test('kind, numbers, args and env are checked', (t) => {
  t.regex(fault(t, { ...base, kind: 'thread' }), /"kind" must be "process" or "worker", got "thread"/)
  t.regex(fault(t, { ...base, ttlMs: 99 }), /"ttlMs" must be an integer from 100 to 3600000, got 99/)
  t.regex(fault(t, { ...base, ttlMs: 3_600_001 }), /"ttlMs"/)
  t.regex(fault(t, { ...base, ttlMs: 1.5 }), /"ttlMs"/)
  t.regex(fault(t, { ...base, startMs: '10' }), /"startMs"/)
  t.regex(fault(t, { ...base, stopMs: -1 }), /"stopMs"/)
  t.regex(fault(t, { ...base, graceMs: null }), /"graceMs"/)
  t.regex(fault(t, { ...base, memoryMb: 1 }), /"memoryMb" must be an integer from 16/)
  t.is(parse({ ...base, memoryMb: null }).memoryMb, null)
  t.regex(fault(t, { ...base, args: 'x' }), /"args" must be an array/)
  t.regex(fault(t, { ...base, args: [1] }), /"args"\[0\] must be a string/)
  t.regex(fault(t, { ...base, env: [] }), /"env" must be an object/)
  t.regex(fault(t, { ...base, env: { '1A': 'x' } }), /"env" key "1A" must match/)
  t.regex(fault(t, { ...base, env: { A: 1 } }), /"env".A must be a string/)
  t.regex(fault(t, { ...base, env: { NODE_OPTIONS: '--allow-fs-read=*' } }), /"env" must not set NODE_OPTIONS/)
})

test('modules may name only what crux ships for services, each once', (t) => {
  t.deepEqual(parse({ ...base, modules: ['@grpc/proto-loader'] }).modules, ['@grpc/proto-loader'])
  t.deepEqual(parse({ ...base, modules: [] }).modules, [])
  t.is(fault(t, { ...base, modules: ['lodash'] }), 'crux-service.json: "modules"[0] may only name a module crux ships (@grpc/grpc-js, @grpc/proto-loader), got "lodash"')
  // A path into crux's node_modules is not a name of the list either.
  t.regex(fault(t, { ...base, modules: ['@grpc/grpc-js', '@grpc/grpc-js/build/src/index.js'] }), /"modules"\[1\] may only name a module crux ships/)
  t.regex(fault(t, { ...base, modules: [7] }), /"modules"\[0\] may only name .*, got 7$/)
  t.is(fault(t, { ...base, modules: ['@grpc/grpc-js', '@grpc/grpc-js'] }), 'crux-service.json: "modules" lists "@grpc/grpc-js" twice')
  t.regex(fault(t, { ...base, modules: '@grpc/grpc-js' }), /"modules" must be an array of module names \(of @grpc\/grpc-js, @grpc\/proto-loader\)/)
})

test('an unknown field is refused, not ignored', (t) => {
  t.regex(fault(t, { ...base, ttlMS: 100 }), /unknown field "ttlMS" \(known: service, api, instance, entry/)
})

test('text that is not a JSON object is refused', (t) => {
  t.regex(fault(t, '{ api: 1'), /not JSON/)
  t.regex(fault(t, '[]'), /must be a JSON object/)
  t.regex(fault(t, 'null'), /must be a JSON object/)
})

test('readManifest checks the entry is a regular file of the bundle', async (t) => {
  const d = tmp(t)
  await t.throwsAsync(readManifest(d), { instanceOf: ManifestError, message: /missing: a bundle is a directory with crux-service.json/ })
  writeFileSync(join(d, 'crux-service.json'), JSON.stringify(base))
  await t.throwsAsync(readManifest(d), { message: 'crux-service.json: "entry" "service.mjs" does not exist in the bundle' })
  mkdirSync(join(d, 'service.mjs'))
  await t.throwsAsync(readManifest(d), { message: /"entry" "service.mjs" is not a regular file/ })
  writeFileSync(join(d, 'crux-service.json'), JSON.stringify({ ...base, entry: 'link.mjs' }))
  symlinkSync(join(FIXTURES, 'echo', 'service.mjs'), join(d, 'link.mjs'))
  await t.throwsAsync(readManifest(d), { message: /"entry" "link.mjs" is not a regular file/ })
  writeFileSync(join(d, 'crux-service.json'), ' '.repeat(MANIFEST_MAX_BYTES + 1))
  await t.throwsAsync(readManifest(d), { message: `crux-service.json: is ${MANIFEST_MAX_BYTES + 1} bytes, at most ${MANIFEST_MAX_BYTES}` })
})

test('every fixture bundle has a good manifest', async (t) => {
  for (const name of ['echo', 'crash', 'hang', 'escape', 'chatter']) t.is((await readManifest(join(FIXTURES, name))).kind, 'process')
})
