/**
 * The proctor's rules (machines/proctor.machine.ts): take a program, follow the muster, solve every
 * period and after every change of the muster, and send each node's dean what it should run when that
 * changed or was not taken. Mutate the context in place and push effects. Pure module.
 */
import type { Effect } from '../effects.js'
import { compile } from '../khan/compile.js'
import { BUNDLE_HASH } from '../picket/context.js'
import { PLACED_SERVICE, placedServices } from '../placement/names.js'
import { plan } from '../placement/plan.js'
import type { DeanAssigned, PlacementApply, PlacementProgram, ProctorContext, ProctorInput, ProctorView } from '../placement/types.js'

export function createProctorContext(input: ProctorInput): ProctorContext {
  const { node, now, periodMs, retryMs, settleMs, seed } = input
  return { node, now, periodMs, retryMs, settleMs, seed, leading: false, term: 0, leader: null, members: [], ledAt: 0, program: null, nodes: null, assigned: {}, calls: {}, nextId: 1, solved: null }
}

/** Whether program `a` supersedes `b`: a higher version, or the same version with the greater text (two proctors of a split flock). */
export function newer(a: PlacementProgram, b: PlacementProgram | null): boolean {
  if (b === null) return true
  if (a.version !== b.version) return a.version > b.version
  return JSON.stringify([a.text, a.bundles]) > JSON.stringify([b.text, b.bundles])
}

const send = (out: Effect[], to: string, event: { type: string; [k: string]: unknown }) => void out.push({ type: 'send', to, event, cls: 'control' })

/** The node came to lead, stopped leading, or learnt where the leader is. */
export function view(ctx: ProctorContext, ev: ProctorView, out: Effect[]): void {
  ctx.leader = ev.leader
  const changed = ev.members.join(' ') !== ctx.members.join(' ')
  ctx.members = ev.members
  if (ev.leading && (!ctx.leading || ev.term !== ctx.term)) {
    // A new term starts from the muster: what an earlier term assigned may have changed since.
    Object.assign(ctx, { leading: true, term: ev.term, ledAt: ctx.now, nodes: null, assigned: {}, calls: {}, solved: null })
    out.push({ type: 'timer.set', name: 'period', ms: ctx.periodMs })
    out.push({ type: 'log', level: 'info', msg: 'proctor leading', fields: { term: ev.term, program: ctx.program?.version ?? 0 } })
  } else if (!ev.leading && ctx.leading) {
    Object.assign(ctx, { leading: false, nodes: null, assigned: {}, calls: {}, solved: null })
    out.push({ type: 'timer.cancel', name: 'period' })
    out.push({ type: 'log', level: 'info', msg: 'proctor retired', fields: { term: ctx.term } })
  } else if (ctx.leading && changed) step(ctx, out)
}

/** Adopts `p` if it supersedes the program held; every node is then assigned again under it. */
export function adopt(ctx: ProctorContext, p: PlacementProgram): boolean {
  if (!newer(p, ctx.program)) return false
  ctx.program = p
  for (const a of Object.values(ctx.assigned)) a.taken = false
  return true
}

/** Why `ev` cannot be applied, as INVALID_ARGUMENT's message; null when it can. */
function invalid(ev: PlacementApply): string | null {
  const c = compile(ev.text)
  if (c.program === null) return c.errors.map((e) => e.message).join('; ')
  for (const s of placedServices(c.checked!.picks)) {
    if (!PLACED_SERVICE.test(s)) return `service ${JSON.stringify(s)} cannot be placed: a lower-case letter, then lower-case letters, digits, _ or -, at most 55`
    if (ev.bundles[s] === undefined) return `service ${s} has no bundle: give --bundle ${s}=sha256:…`
    if (!BUNDLE_HASH.test(ev.bundles[s]!)) return `service ${s}: bad bundle hash ${JSON.stringify(ev.bundles[s]!.slice(0, 80))}`
  }
  return null
}

/** PlacementService.Apply: a checked program becomes the next version. */
export function apply(ctx: ProctorContext, ev: PlacementApply, out: Effect[]): void {
  const refuse = (code: string, message: string) => send(out, ev.from, { type: 'call.refused', id: ev.id, code, message })
  if (!ctx.leading) return refuse('FAILED_PRECONDITION', `not the proctor: this node does not lead its flock${ctx.leader === null ? '' : `; the leader's gRPC is at ${ctx.leader}`}`)
  const why = invalid(ev)
  if (why !== null) return refuse('INVALID_ARGUMENT', why)
  const c = compile(ev.text)
  const services = placedServices(c.checked!.picks)
  const bundles = Object.fromEntries(services.map((s) => [s, ev.bundles[s]!]))
  adopt(ctx, { version: (ctx.program?.version ?? 0) + 1, text: ev.text, bundles })
  out.push({ type: 'log', level: 'info', msg: 'placement applied', fields: { version: ctx.program!.version, services } })
  send(out, ev.from, { type: 'placement.applied', id: ev.id, version: ctx.program!.version, services, warnings: c.warnings.map((w) => `${w.line}:${w.col}: ${w.message}`) })
  step(ctx, out)
}

const same = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) => {
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k])
}

/** Solves and sends every dean whose assignment changed, was not taken, or was not answered in time. */
export function step(ctx: ProctorContext, out: Effect[]): void {
  if (!ctx.leading || ctx.program === null || ctx.nodes === null) return
  // Only members count: the flock drops a dead node before the steward retires its muster.
  const members = new Set(ctx.members)
  const nodes = ctx.nodes.filter((n) => members.has(n.node))
  const missing = ctx.members.filter((m) => !nodes.some((n) => n.node === m))
  // A new steward's catalog fills as reeves register again: solving over part of the flock would stack
  // every service on the nodes seen first, so the proctor waits (a node without a muster, at most settleMs).
  if (missing.length > 0 && ctx.now - ctx.ledAt < ctx.settleMs) {
    ctx.solved = { ok: false, placement: {}, warnings: [], explain: [`waiting for the muster of ${missing.length} member(s) (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}) to reach the catalog`], held: {} }
    return
  }
  const r = plan(ctx.program, nodes, ctx.assigned, ctx.seed)
  ctx.solved = r.solved
  const live = new Set(nodes.map((n) => n.node))
  for (const node of Object.keys(ctx.assigned)) if (!live.has(node)) delete ctx.assigned[node]
  if (r.desired === null) return
  for (const n of nodes) {
    const want = r.desired[n.node] ?? {}
    const a = ctx.assigned[n.node]
    if (a !== undefined && same(a.services, want) && (a.taken || (a.sending !== null && ctx.now - a.sentAt < ctx.retryMs))) continue
    const id = ctx.nextId++
    ctx.calls[id] = n.node
    ctx.assigned[n.node] = { services: want, sending: id, sentAt: ctx.now, taken: false }
    send(out, `grpc://${n.address}/dean`, { type: 'dean.assign', id, term: ctx.term, program: ctx.program, services: want })
  }
}

/** A dean answered: taken, or its program is newer (adopted, and solved again). */
export function assigned(ctx: ProctorContext, ev: DeanAssigned, out: Effect[]): void {
  const node = ctx.calls[ev.id]
  delete ctx.calls[ev.id]
  const a = node === undefined ? undefined : ctx.assigned[node]
  if (a === undefined || a.sending !== ev.id) return
  a.sending = null
  if (ev.program !== null && adopt(ctx, ev.program)) return step(ctx, out)
  a.taken = ev.taken && ev.programVersion === ctx.program?.version
}

/** An assignment failed on the road or was refused: sent again at a period once retryMs passed. */
export function failed(ctx: ProctorContext, id: number | undefined, code: string, message: string, out: Effect[]): void {
  const node = id === undefined ? undefined : ctx.calls[id]
  if (node === undefined) return
  delete ctx.calls[id!]
  const a = ctx.assigned[node]
  if (a !== undefined && a.sending === id) a.sending = null
  out.push({ type: 'log', level: 'warn', msg: 'dean did not take its assignment', fields: { node, code, message } })
}
