/**
 * The data dir's load checks (issue 13): a reeve's records and the flock checkpoint, each damaged
 * kind named in one line with its file; what the reeve and the flock machine write passes.
 */
import test from 'ava'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkReeveLog, loadCheckpoint, reeveRecordProblem } from '../../../actors/fulcrum/data-dir.js'
import { DataDirError } from '../../../runtime/errors.js'
import { LogStore } from '../../../runtime/log-store.js'
import { FileStore } from '../../../runtime/store.js'

const NODE = 'n0123456789abcdef'
const svc = `/crux/default/${NODE}/Web/Api1`
const endpoint = { nodeId: svc, netId: `/Api1/${NODE}/net/127.0.0.1:8080`, horde: 'default', api: 'Api1', instance: NODE, address: '127.0.0.1:8080', state: 'up', keyId: '' }
const kept = { uuid: 'u-1', nodeId: svc, holdMs: 3000 }

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-datadir-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

test('what a reeve writes passes', (t) => {
  t.is(reeveRecordProblem(`local${svc}`, endpoint, NODE), null)
  t.is(reeveRecordProblem(`local${svc}`, { ...endpoint, state: 'down', address: '[::1]:9' }, NODE), null)
  t.is(reeveRecordProblem('beat/u-1', kept, NODE), null)
  t.is(reeveRecordProblem(`local${svc}`, { ...endpoint, tags: ['zone=a', 'sha256:00'] }, NODE), null)
})

const bad: Array<[string, string, unknown, RegExp]> = [
  ['an endpoint that is a string', `local${svc}`, 'x', /^an endpoint must be an object/],
  ['an endpoint under another key', `local/crux/default/${NODE}/Db/Api1`, endpoint, /^nodeId .* is not the key's/],
  ['a number address', `local${svc}`, { ...endpoint, address: 8080 }, /^address must be HOST:PORT, got 8080$/],
  ['a state neither up nor down', `local${svc}`, { ...endpoint, state: 'maybe' }, /^state must be "up" or "down"/],
  ['a malformed NodeID', 'local/x', { ...endpoint, nodeId: '/x' }, /^a NodeID is \/bloc\/horde\/node\/service\/api, got "\/x"/],
  ['a NodeID without a service', `local/crux/default/${NODE}//`, { ...endpoint, nodeId: `/crux/default/${NODE}//` }, /must name a service and an API/],
  ["another node's endpoint", `local/crux/default/nffff/Web/Api1`, { ...endpoint, nodeId: '/crux/default/nffff/Web/Api1' }, /is not on this node "n0123456789abcdef" \(another node's log\?\)/],
  ['a number netId', `local${svc}`, { ...endpoint, netId: 1 }, /^netId must be a string of 1–256 characters, got 1$/],
  ['tags that are not a list', `local${svc}`, { ...endpoint, tags: 'a' }, /^tags must be at most 64 strings of 1–256 characters, got "a"$/],
  ['an empty tag', `local${svc}`, { ...endpoint, tags: [''] }, /^tags must be at most 64 strings/],
  ['65 tags', `local${svc}`, { ...endpoint, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }, /^tags must be at most 64 strings/],
  ['an empty instance', `local${svc}`, { ...endpoint, instance: '' }, /^instance must be a string/],
  ['a heartbeat without holdMs', 'beat/u-1', { uuid: 'u-1', nodeId: svc }, /^holdMs must be a positive number of ms, got undefined/],
  ['a heartbeat under another uuid', 'beat/u-2', kept, /^uuid "u-1" is not the key's/],
  ['a heartbeat with a bad NodeID', 'beat/u-1', { ...kept, nodeId: 'Web' }, /a NodeID is \/bloc\/horde\/node\/service\/api/],
  ['a key no reeve writes', 'other', 1, /^not a key a reeve writes/],
]

for (const [what, key, value, message] of bad) {
  test(`a reeve record with ${what} is named`, (t) => {
    t.regex(reeveRecordProblem(key, value, NODE) ?? 'passed', message)
  })
}

test('checkReeveLog: the first bad record stops the load, naming the file and the key', async (t) => {
  const d = dir(t)
  const s = new LogStore(d)
  s.put(`${NODE}/reeve`, `local${svc}`, endpoint)
  s.put(`${NODE}/reeve`, 'beat/u-1', { ...kept, holdMs: -1 })
  await s.sync()
  s.close()
  const err = t.throws(() => checkReeveLog(new LogStore(d), `${NODE}/reeve`, NODE), { instanceOf: DataDirError })
  t.is(err!.message, `${join(d, `${NODE}~reeve.log`)}: record "beat/u-1": holdMs must be a positive number of ms, got -1`)
})

test('loadCheckpoint: none, a good one, and a damaged one named with its file', (t) => {
  const d = dir(t)
  const files = new FileStore(d)
  const actor = `${NODE}/flock`
  t.is(loadCheckpoint(files, actor, NODE), undefined)
  const cp = { id: NODE, flock: '_a_b', leader: null, history: [], known: [] }
  files.put(actor, 'checkpoint', cp)
  t.deepEqual(loadCheckpoint(files, actor, NODE), cp)
  files.put(actor, 'checkpoint', { ...cp, history: 'none' })
  t.throws(() => loadCheckpoint(files, actor, NODE), { instanceOf: DataDirError, message: `${join(d, `${NODE}~flock`, 'checkpoint.json')}: history must be a list, got "none"` })
  writeFileSync(files.fileOf(actor, 'checkpoint'), 'not json')
  t.throws(() => loadCheckpoint(files, actor, NODE), { instanceOf: DataDirError, message: /checkpoint\.json: not valid JSON$/ })
})
