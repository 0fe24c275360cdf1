/**
 * The registry: idle unless the local steward is; a registration checked (key of the named node, NetID,
 * membership, call-back host), BUSY, the call-back retried until its deadline, DONE with the key
 * persisted once proven; forget.
 */
import test from 'ava'
import { registryLogic } from '../../machines/registry.machine.js'
import { persists, sent, stepper, timers } from './strew-harness.js'

const FP = 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99'
const STEWARD_KEY = `/Steward1_0/st/keys/${FP}`

function registry(o: { keys?: string[]; lead?: boolean } = {}) {
  const s = stepper(registryLogic, { node: 'st', stewardKeyId: STEWARD_KEY, stewardKey: 'c3Rld2FyZA==', keys: o.keys ?? [], callbackMs: 2_000, retryMs: 500, now: 0 })
  if (o.lead !== false) {
    s.send({ type: 'registry.lead', term: 42 })
    s.send({ type: 'registry.members', members: [{ node: 'n1', host: '10.0.0.1' }, { node: 'st', host: '10.0.0.9' }] })
  }
  let n = 0
  const register = (over: Record<string, unknown> = {}) =>
    s.send({
      type: 'registry.register',
      id: ++n,
      from: `reply:${n}`,
      caller: '',
      node: 'n1',
      nodeId: '/b/h1/n1/Reeve/Reeve1',
      netId: '/Reeve1_0/n1/net/10.0.0.1:50059',
      keyId: `/Reeve1_0/n1/keys/${FP}`,
      publicKey: 'a2V5MQ==',
      keyNode: 'n1',
      callback: '10.0.0.1:50059',
      netHost: '10.0.0.1',
      challenge: 'Y2hhbGxlbmdl',
      ...over,
    })
  return { ...s, register }
}

test('idle: registrations fail and forgets are refused, not the steward', (t) => {
  const r = registry({ lead: false })
  t.deepEqual(sent(r.register(), 'registry.failed'), [{ type: 'registry.failed', id: 1, error: 'not the steward' }])
  t.deepEqual(sent(r.send({ type: 'registry.forget', id: 2, from: 'reply:2', caller: '', node: 'n1' }), 'call.refused').map((e) => `${e.code} ${e.message}`), ['FAILED_PRECONDITION not the steward'])
})

test('BUSY with the steward key, the call-back to the NetID address, DONE once proven, the key persisted once', (t) => {
  const r = registry()
  const out = r.register()
  t.deepEqual(sent(out, 'registry.busy', 'reply:1'), [{ type: 'registry.busy', id: 1, stewardKeyId: STEWARD_KEY, stewardKey: 'c3Rld2FyZA==', stewardNode: 'st' }])
  const [pull] = sent(out, 'keys.pull', 'grpc://10.0.0.1:50059/reeve')
  t.deepEqual(pull, { type: 'keys.pull', id: pull!.id, keyId: `/Reeve1_0/n1/keys/${FP}`, challenge: 'Y2hhbGxlbmdl' })
  const done = r.send({ type: 'keys.pulled', id: pull!.id, proven: true })
  t.deepEqual(persists(done), [{ type: 'persist', key: `whitelist//Reeve1_0/n1/keys/${FP}`, value: 'a2V5MQ==' }])
  t.deepEqual(sent(done, 'registry.done', 'reply:1'), [{ type: 'registry.done', id: 1, term: 42, stewardKeyId: STEWARD_KEY, stewardKey: 'c3Rld2FyZA==', stewardNode: 'st' }])
  const [again] = sent(r.register(), 'keys.pull')
  const second = r.send({ type: 'keys.pulled', id: again!.id, proven: true })
  t.deepEqual([persists(second), sent(second, 'registry.done').length], [[], 1], 'registered again: proven again, the whitelist not rewritten')
})

test('a key not proven fails the registration and whitelists nothing', (t) => {
  const r = registry()
  const [pull] = sent(r.register(), 'keys.pull')
  const out = r.send({ type: 'keys.pulled', id: pull!.id, proven: false })
  t.deepEqual([persists(out), sent(out, 'registry.failed').map((e) => e.error)], [[], ['the reeve did not prove the key']])
})

test('a call-back that fails is retried until the deadline, then the registration fails', (t) => {
  const r = registry()
  let [pull] = sent(r.register(), 'keys.pull')
  const fail = (id: number, at: number) => r.send({ type: 'call.failed', id, request: 'keys.pull', code: 'UNAVAILABLE', message: 'down' }, at)
  t.deepEqual(timers(fail(pull!.id, 100)), [{ type: 'timer.set', name: `pull:${pull!.id}`, ms: 500 }])
  ;[pull] = sent(r.send({ type: 'timer.fired', name: `pull:${pull!.id}` }, 600), 'keys.pull')
  t.truthy(pull, 'called back again')
  t.deepEqual(sent(fail(pull!.id, 1_400), 'registry.failed'), [])
  ;[pull] = sent(r.send({ type: 'timer.fired', name: `pull:${pull!.id}` }, 1_900), 'keys.pull')
  t.deepEqual(sent(fail(pull!.id, 1_600), 'registry.failed').map((e) => e.error), ['the reeve did not answer'], 'past the 2 s deadline')
})

test('every refusal: the key of another node, a NetID of another node or address, not a member, another host', (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ["the key is not the named node's", { keyNode: 'n2' }],
    ['the NodeID names another node', { nodeId: '/b/h1/n2/Reeve/Reeve1' }],
    ['the NetID names another node', { netId: '/Reeve1_0/n2/net/10.0.0.1:50059' }],
    ["the call-back is not the NetID's address", { callback: '10.0.0.1:50060' }],
    ["the KeyID is not a reeve key of the node's", { keyId: `/Reeve1_0/n2/keys/${FP}` }],
    ["the node is not a member of the steward's flock", { node: 'n3', keyNode: 'n3', nodeId: '/b/h1/n3/Reeve/Reeve1', netId: '/Reeve1_0/n3/net/10.0.0.3:1', keyId: `/Reeve1_0/n3/keys/${FP}`, callback: '10.0.0.3:1', netHost: '10.0.0.3' }],
    ["the call-back host 10.0.0.7 is not the node's flock host 10.0.0.1", { netId: '/Reeve1_0/n1/net/10.0.0.7:50059', callback: '10.0.0.7:50059', netHost: '10.0.0.7' }],
  ]
  for (const [why, over] of cases) {
    const r = registry()
    const out = r.register(over)
    t.deepEqual(sent(out, 'registry.failed').map((e) => e.error), ['registration refused'], why)
    t.deepEqual(out.flatMap((e) => (e.type === 'log' ? [e.fields?.why] : [])), [why])
    t.deepEqual([sent(out, 'registry.busy'), sent(out, 'keys.pull')], [[], []], `${why}: no call-back`)
  }
})

test('retiring fails the registrations under way', (t) => {
  const r = registry()
  const [pull] = sent(r.register(), 'keys.pull')
  const out = r.send({ type: 'registry.retire' })
  t.deepEqual(sent(out, 'registry.failed').map((e) => e.error), ['not the steward'])
  t.deepEqual(persists(r.send({ type: 'keys.pulled', id: pull!.id, proven: true })), [], 'a late proof whitelists nothing')
})

test('forget drops every key of the node, persisted; a node with none is NOT_FOUND', (t) => {
  const k1 = `/Reeve1_0/n1/keys/${FP}`
  const k2 = `/Reeve1_0/n1/keys/${FP.replace('aa', 'ab')}`
  const r = registry({ keys: [k1, k2, `/Reeve1_0/n2/keys/${FP}`] })
  const out = r.send({ type: 'registry.forget', id: 5, from: 'reply:5', caller: '', node: 'n1' })
  t.deepEqual(sent(out, 'registry.forgotten'), [{ type: 'registry.forgotten', id: 5, term: 42, removed: [k1, k2].sort() }])
  t.deepEqual(persists(out).map((e) => (e as { key: string; value: unknown }).value), [null, null])
  t.deepEqual(sent(r.send({ type: 'registry.forget', id: 6, from: 'reply:6', caller: '', node: 'n1' }), 'call.refused').map((e) => e.code), ['NOT_FOUND'])
})
