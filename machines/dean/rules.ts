/**
 * The dean's rules (machines/dean.machine.ts): take an assignment from the proctor, keep the newest
 * program, and drive the node's picket one request at a time until it runs exactly what was
 * assigned: `add` (picket.start) a name it does not run, `upgrade` (picket.upgrade) one whose bundle
 * changed, `delete` (picket.reset: the service is asked to quit, killed past its stopMs, and
 * forgotten) one no longer assigned. Only names this dean started are ever deleted: a service
 * started by hand is never touched, and an assigned name already taken by one is `blocked`. Mutate
 * the context in place and push effects. Pure module.
 */
import type { Effect } from '../effects.js'
import { newer } from '../proctor/rules.js'
import type { DeanAssign, DeanContext, DeanInput, DeanOp, DeanPicket, PicketAnswered } from '../placement/types.js'

export function createDeanContext(input: DeanInput): DeanContext {
  const r = input.restored ?? null
  const { restored: _r, now, node, ...rest } = input
  return { node, now, input: rest, term: r?.term ?? 0, program: r?.program ?? null, assigned: { ...(r?.assigned ?? {}) }, managed: { ...(r?.managed ?? {}) }, inflight: null, blocked: {}, notBefore: 0, nextId: 1 }
}

const send = (out: Effect[], to: string, event: { type: string; [k: string]: unknown }) => void out.push({ type: 'send', to, event, cls: 'control' })

/** Persists what survives a restart. */
export function persist(ctx: DeanContext, out: Effect[]): void {
  out.push({ type: 'persist', key: 'dean', value: { term: ctx.term, program: ctx.program, assigned: ctx.assigned, managed: ctx.managed } })
}

/** Tells the node's proctor the program this dean keeps (what a new proctor on this node starts from). */
export function tellProgram(ctx: DeanContext, out: Effect[]): void {
  if (ctx.program !== null) send(out, ctx.input.proctor, { type: 'proctor.program', program: ctx.program })
}

/** Asks the node's pastiche to hold every bundle of the program (wants are kept; picket wants what it runs too). */
export function holdBundles(ctx: DeanContext, out: Effect[]): void {
  const to = ctx.input.pastiche
  if (to === undefined || ctx.program === null) return
  for (const hash of [...new Set(Object.values(ctx.program.bundles))].sort()) send(out, to, { type: 'want', hash })
}

/** DeanService.Assign: fenced by term; a program older than this dean's is answered with its own. */
export function assign(ctx: DeanContext, ev: DeanAssign, out: Effect[]): void {
  if (ev.term < ctx.term) return send(out, ev.from, { type: 'call.refused', id: ev.id, code: 'FAILED_PRECONDITION', message: `stale proctor: term ${ev.term}, this dean has taken term ${ctx.term}` })
  ctx.term = ev.term
  if (ctx.program !== null && newer(ctx.program, ev.program)) {
    persist(ctx, out)
    return send(out, ev.from, { type: 'dean.assigned', id: ev.id, programVersion: ctx.program.version, program: ctx.program, taken: false })
  }
  if (ctx.program === null || newer(ev.program, ctx.program)) {
    ctx.program = ev.program
    tellProgram(ctx, out)
    holdBundles(ctx, out)
  }
  for (const name of Object.keys(ctx.blocked)) if (ev.services[name] !== ctx.assigned[name]) delete ctx.blocked[name]
  ctx.assigned = { ...ev.services }
  persist(ctx, out)
  send(out, ev.from, { type: 'dean.assigned', id: ev.id, programVersion: ctx.program.version, program: null, taken: true })
  reconcile(ctx, out)
}

/** The next thing to do: adds and upgrades first (in name order), then deletes. */
export function nextOp(ctx: DeanContext): { name: string; op: DeanOp; hash: string } | null {
  for (const name of Object.keys(ctx.assigned).sort()) {
    if (ctx.blocked[name] !== undefined) continue
    const hash = ctx.assigned[name]!
    if (ctx.managed[name] === undefined) return { name, op: 'add', hash }
    if (ctx.managed[name] !== hash) return { name, op: 'upgrade', hash }
  }
  for (const name of Object.keys(ctx.managed).sort()) if (ctx.assigned[name] === undefined) return { name, op: 'delete', hash: ctx.managed[name]! }
  return null
}

const REQUEST: Record<DeanOp, string> = { add: 'picket.start', upgrade: 'picket.upgrade', delete: 'picket.reset' }

/** Sends picket the next request, unless one is on its way or a failure's pause is not over. */
export function reconcile(ctx: DeanContext, out: Effect[]): void {
  if (ctx.inflight !== null || ctx.now < ctx.notBefore) return
  const next = nextOp(ctx)
  if (next === null) return
  const id = ctx.nextId++
  ctx.inflight = { id, ...next }
  const { picket, keyId, self } = ctx.input
  send(out, picket, { type: REQUEST[next.op], id, from: self, caller: keyId, name: next.name, ...(next.op === 'delete' ? {} : { hash: next.hash }) })
}

/** Picket answered the request on its way: `picket.answer` (OK) or `call.refused` with the code. */
export function answered(ctx: DeanContext, ev: Pick<PicketAnswered, 'id' | 'code' | 'message'>, out: Effect[]): void {
  const f = ctx.inflight
  if (f === null || f.id !== ev.id) return
  ctx.inflight = null
  if (ev.code === 'OK' && f.op === 'delete') delete ctx.managed[f.name]
  else if (ev.code === 'OK') ctx.managed[f.name] = f.hash
  else if (ev.code === 'ALREADY_EXISTS' && f.op === 'add') ctx.blocked[f.name] = ev.message
  // Gone already (reset by hand): forgotten, and started again if still assigned.
  else if (ev.code === 'NOT_FOUND') delete ctx.managed[f.name]
  else return retryLater(ctx, `${f.op} ${f.name}: ${ev.code} ${ev.message}`, out)
  persist(ctx, out)
  out.push({ type: 'log', level: ev.code === 'OK' ? 'info' : 'warn', msg: `dean ${f.op}`, fields: { name: f.name, hash: f.hash, code: ev.code } })
  reconcile(ctx, out)
}

/**
 * What the node's picket has now: a name the dean started that picket no longer has (reset by hand)
 * is forgotten, and started again if still assigned; one moved to another bundle by hand is moved
 * back; a blocked name picket no longer has is free again. The request on its way is left alone.
 */
export function observed(ctx: DeanContext, ev: DeanPicket, out: Effect[]): void {
  let changed = false
  for (const [name, hash] of Object.entries(ctx.managed)) {
    if (ctx.inflight?.name === name || ev.services[name] === hash) continue
    if (ev.services[name] === undefined) delete ctx.managed[name]
    else ctx.managed[name] = ev.services[name]!
    changed = true
  }
  for (const name of Object.keys(ctx.blocked)) if (ev.services[name] === undefined) delete ctx.blocked[name]
  if (changed) persist(ctx, out)
  reconcile(ctx, out)
}

/** The request failed on the way or was refused: the next one waits `retryMs`. */
export function retryLater(ctx: DeanContext, why: string, out: Effect[]): void {
  ctx.inflight = null
  ctx.notBefore = ctx.now + ctx.input.retryMs
  out.push({ type: 'timer.set', name: 'retry', ms: ctx.input.retryMs })
  out.push({ type: 'log', level: 'warn', msg: 'dean request failed; trying again', fields: { why } })
}
