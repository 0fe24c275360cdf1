/**
 * A few nodes' strew machines on real actor hosts and one virtual clock, joined by a small stand-in for
 * the road: `grpc://HOST:PORT/<name>` calls delivered to the named node's actor with `from: reply:<n>`
 * and the caller's KeyID, answers routed back by the route's answer types, `call.refused` turned into
 * `call.failed`, and the edge's codec work done in the plainest way (a "key" is its node's name in
 * base64, so the node id a key makes is that name; a proof is valid when it echoes the challenge).
 * Calls to a node that is down fail UNAVAILABLE. For the machine tests only: the real road is
 * runtime/grpc-road.ts.
 */
import { productMachines } from '../../machines/index.js'
import type { HostEvent } from '../../machines/effects.js'
import { VirtualClock } from '../../runtime/clock.js'
import { createActorHost, type ActorHost } from '../../runtime/host.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')
const unb64 = (s: string) => Buffer.from(s, 'base64').toString()
const fp = (node: string) => [...Buffer.from(node.padEnd(16, '.').slice(0, 16))].map((b) => b.toString(16).padStart(2, '0')).join(':')
export const reeveKey = (node: string) => `/Reeve1_0/${node}/keys/${fp(node)}`
export const stewardKey = (node: string) => `/Steward1_0/${node}/keys/${fp(node)}`

/** What answers a request, and which answers end the call. */
const ROUTES: Record<string, { answers: string[]; terminal: string[] }> = {
  'endpoints.update': { answers: ['endpoints.updated'], terminal: ['endpoints.updated'] },
  'catalog.push': { answers: ['catalog.pushed'], terminal: ['catalog.pushed'] },
  'registry.register': { answers: ['registry.busy', 'registry.done', 'registry.failed'], terminal: ['registry.done', 'registry.failed'] },
  'keys.pull': { answers: ['keys.proof'], terminal: ['keys.proof'] },
}

export interface NetNode {
  name: string
  grpc: string
  flockHost: string
  host: ActorHost
  up: boolean
  store: Map<string, unknown>
  health: Map<string, string>
  /** Answers to calls the test made as the node's edge (to `reply:edge-…`). */
  edge: HostEvent[]
}

interface Pending {
  server: NetNode
  client: NetNode
  actor: string
  id: number
  request: string
  challenge?: string
  keyId?: string
}

export function strewNet(names: string[], o: { hbMs: number; start?: number }) {
  const clock = new VirtualClock(o.start ?? 1_000_000)
  const nodes = new Map<string, NetNode>()
  const byGrpc = new Map<string, NetNode>()
  const pending = new Map<string, Pending>()
  let n = 0
  const later = (fn: () => void) => clock.schedule(1, fn)

  const failTo = (p: Pending, code: string, message: string) =>
    later(() => p.client.up && p.client.host.send(p.actor, { type: 'call.failed', id: p.id, request: p.request, code, message }, 'control'))

  const call = (client: NetNode, actor: string, target: string, event: HostEvent) => {
    const m = /^grpc:\/\/([^/]+)\/(.+)$/.exec(target)!
    const server = byGrpc.get(m[1]!)
    const id = Number(event.id)
    const p: Pending = { server: server!, client, actor, id, request: event.type }
    if (server === undefined || !server.up) return failTo(p, 'UNAVAILABLE', `${m[1]} is down`)
    const reply = `reply:${++n}`
    pending.set(reply, p)
    let inbound: HostEvent = { ...event, from: reply, caller: actor.endsWith('/steward') || actor.endsWith('/registry') ? stewardKey(client.name) : reeveKey(client.name) }
    if (event.type === 'registry.register') {
      // The edge opens the seal: the key's node, its KeyID, the call-back address, a fresh challenge.
      const node = String(event.nodeId).split('/')[3]!
      const addr = String(event.netId).split('/')[4]!
      const keyNode = unb64(String(event.publicKey))
      inbound = { type: 'registry.register', id, from: reply, caller: '', node, nodeId: event.nodeId, netId: event.netId, keyId: `/Reeve1_0/${node}/keys/${fp(keyNode)}`, publicKey: event.publicKey, keyNode, callback: addr, netHost: addr.slice(0, addr.lastIndexOf(':')), challenge: b64(`challenge ${n}`), seenTerm: Number(event.seenTerm ?? 0) }
      // Sealed for another steward: the edge refuses it before the machine sees it.
      if (event.steward !== server.name) return pending.delete(reply), later(() => client.host.send(actor, { type: 'registry.failed', id, error: 'registration refused' }, 'control'))
    }
    if (event.type === 'keys.pull') Object.assign(p, { challenge: event.challenge, keyId: event.keyId })
    later(() => server.up && server.host.send(`${server.name}/${m[2]}`, inbound, 'control'))
  }

  const answer = (server: NetNode, to: string, event: HostEvent) => {
    const p = pending.get(to)
    if (p === undefined) return void server.edge.push(event)
    if (p.server !== server) return
    if (event.type === 'call.refused') {
      pending.delete(to)
      return later(() => p.client.up && p.client.host.send(p.actor, { type: 'call.failed', id: p.id, request: p.request, code: event.code, message: event.message }, 'control'))
    }
    const route = ROUTES[p.request]!
    if (!route.answers.includes(event.type)) return
    if (route.terminal.includes(event.type)) pending.delete(to)
    let back: HostEvent = { ...event, id: p.id }
    // The edge verifies a proof, and names the node a steward key makes.
    if (event.type === 'keys.proof') back = { type: 'keys.pulled', id: p.id, proven: event.challenge === p.challenge && event.keyId === p.keyId }
    if (event.type === 'registry.busy' || event.type === 'registry.done') back = { ...back, stewardNode: unb64(String(event.stewardKey)) }
    later(() => p.client.up && p.client.host.send(p.actor, back, 'control'))
  }

  names.forEach((name, i) => {
    const node: NetNode = { name, grpc: `10.0.0.${i + 1}:50059`, flockHost: `10.0.0.${i + 1}`, host: undefined as never, up: true, store: new Map(), health: new Map(), edge: [] }
    node.host = createActorHost(
      {
        clock,
        machines: productMachines,
        store: { put: (actor, key, value) => void (value === null ? node.store.delete(`${actor} ${key}`) : node.store.set(`${actor} ${key}`, value)) },
        outbound: (to, event, from) => {
          if (!node.up) return
          if (to.startsWith('grpc://')) return call(node, from, to, event)
          if (to.startsWith('reply:')) return answer(node, to, event)
          if (to === 'port:health') return void node.health.set(String(event.service), String(event.status))
        },
      },
      { node: name },
    )
    nodes.set(name, node)
    byGrpc.set(node.grpc, node)
  })

  const spawn = (node: NetNode) => {
    const now = clock.now()
    const { name } = node
    const kept = [...node.store].filter(([k]) => k.startsWith(`${name}/heartbeater beat/`)).map(([, v]) => v)
    const local = [...node.store].filter(([k]) => k.startsWith(`${name}/reeve local/`)).map(([, v]) => v)
    node.host.spawn(`${name}/heartbeater`, 'heartbeater', { node: name, keyId: reeveKey(name), kept, now })
    node.host.spawn(`${name}/reeve`, 'reeve', { node: name, reeve: `/b/h1/${name}/Reeve/Reeve1`, address: node.grpc, horde: 'h1', keyId: reeveKey(name), retryMs: o.hbMs, local, now })
    node.host.spawn(`${name}/steward`, 'steward', { node: name, batchMs: 50, now })
    node.host.spawn(`${name}/registry`, 'registry', { node: name, stewardKeyId: stewardKey(name), stewardKey: b64(name), keys: [], now })
    node.host.spawn(`${name}/follower`, 'follower', { node: name, nodeId: `/b/h1/${name}/Reeve/Reeve1`, netId: `/Reeve1_0/${name}/net/${node.grpc}`, publicKey: b64(name), hbMs: o.hbMs, now })
  }
  for (const node of nodes.values()) spawn(node)

  let edgeId = 0
  return {
    clock,
    nodes,
    node: (name: string) => nodes.get(name)!,
    /** What the flock says at every node that is up: `leader` leads `members`. */
    flock(leader: string, members: string[]) {
      for (const name of members) {
        const node = nodes.get(name)!
        if (!node.up) continue
        const view = { type: 'flock.view', leading: name === leader, leader, steward: nodes.get(leader)!.grpc, members: members.map((m) => ({ node: m, host: nodes.get(m)!.flockHost })) }
        node.host.send(`${name}/follower`, view, 'control')
      }
    },
    /** A local call to node `name`'s actor as its edge makes it (its own key). */
    local(name: string, actor: string, event: Record<string, unknown>) {
      const id = ++edgeId
      nodes.get(name)!.host.send(`${name}/${actor}`, { ...event, type: String(event.type), id, from: `reply:edge-${id}`, caller: reeveKey(name) }, 'control')
    },
    /** The node stops answering (its calls fail UNAVAILABLE); what was under way to it fails too. */
    down(name: string) {
      const node = nodes.get(name)!
      node.up = false
      for (const [reply, p] of pending) if (p.server === node) pending.delete(reply), failTo(p, 'UNAVAILABLE', `${name} went down`)
    },
    up(name: string) {
      nodes.get(name)!.up = true
    },
    /** The node restarts: every actor anew from what it persisted. */
    restart(name: string) {
      const node = nodes.get(name)!
      for (const id of node.host.ids()) node.host.stop(id)
      node.up = true
      spawn(node)
    },
    state: (name: string, actor: string) => nodes.get(name)!.host.state(`${name}/${actor}`),
    /** The NodeIDs in node `name`'s reeve catalog. */
    catalog: (name: string): string[] => Object.keys((nodes.get(name)!.host.state(`${name}/reeve`).context as { catalog: { endpoints: Record<string, unknown> } }).catalog.endpoints).sort(),
    /** Advances the clock in `step` ms steps until `pred` holds or `maxMs` passed; the time it took, or null. */
    until(pred: () => boolean, maxMs: number, step = 5): number | null {
      const start = clock.now()
      while (clock.now() - start <= maxMs) {
        if (pred()) return clock.now() - start
        clock.advance(step)
      }
      return null
    },
  }
}
