/**
 * `crux placement apply FILE` and `crux placement ls` (CLI.md, Placement): hand a khan program to the
 * flock's proctor, and ask it what runs where. Either goes to the node at --target; a node that does
 * not lead says where the leader is, and the command asks the leader instead. The program is checked
 * here first, so a wrong one fails before anything is dialled, with errors as `FILE:LINE:COL: message`.
 */
import type { Command } from 'commander'
import type { PlacementClient } from '../../actors/placement/client.js'
import type { PlacementServiceListResponse } from '../../protos/gen/crux/v1/placement.js'
import { Code, CruxError, InvalidArgumentError } from '../../runtime/errors.js'
import { explainCall, reach, say, using, type Reach } from './reach.js'

type Flags = Reach & { bundle: Record<string, string> }

/** `--bundle SERVICE=HASH`, collected. */
function bundleArg(v: string, all: Record<string, string>): Record<string, string> {
  const m = /^([A-Za-z_][A-Za-z0-9_.-]*)=(sha256:[0-9a-f]{64})$/.exec(v)
  if (m === null) throw new InvalidArgumentError(`--bundle takes SERVICE=sha256:<64 hex>, got ${JSON.stringify(v.slice(0, 100))}`)
  if (all[m[1]!] !== undefined && all[m[1]!] !== m[2]) throw new InvalidArgumentError(`--bundle: two bundles for ${m[1]}`)
  return { ...all, [m[1]!]: m[2]! }
}

/** Runs `fn` against the proctor: the target, or the leader it names. */
async function withProctor<T>(f: Reach, fn: (c: PlacementClient, view: PlacementServiceListResponse) => Promise<T>): Promise<T> {
  const tls = (await import('../../runtime/grpc-tls.js')).loadPeerTls(f.dataDir)
  const { createPlacementClient } = await import('../../actors/placement/client.js')
  const at = (address: string) => createPlacementClient({ address, tls })
  const first = await using(at(f.target), (c) => c.list(), (err) => explainCall(f, err, 'placement'))
  if (first.leading) return using(at(f.target), (c) => fn(c, first), (err) => explainCall(f, err, 'placement'))
  if (first.leader === '') throw new CruxError(Code.UNAVAILABLE, `${f.target} does not lead its flock and knows no leader yet: try again, or --target the leader`)
  const leader = { ...f, target: first.leader }
  // The leader named may have just died: say who named it, so a retry is the obvious next step.
  const named = (err: unknown) => {
    const e = explainCall(leader, err, 'placement')
    return e instanceof CruxError ? new CruxError(e.code, `${f.target} named ${first.leader} as the leader: ${e.message}`) : e
  }
  const view = await using(at(first.leader), (c) => c.list(), named)
  if (!view.leading) throw new CruxError(Code.UNAVAILABLE, `${f.target} named ${first.leader} as the leader, which does not lead (the flock is changing leaders): try again`)
  return using(at(first.leader), (c) => fn(c, view), named)
}

/** The text form of `ls`. */
function table(v: PlacementServiceListResponse, at: string): string {
  const lines = [`proctor at ${at}: program ${v.version === 0 ? 'none' : `v${v.version}`}, term ${v.term}, ${v.nodes.length} node(s), ${v.ok ? 'placed' : v.version === 0 ? 'nothing to place' : 'NOT placed'}`]
  for (const s of v.services) {
    lines.push(`${s.service.padEnd(16)} wanted ${String(s.wanted).padEnd(4)} up ${String(s.up).padEnd(4)} ${s.hash.slice(0, 19)}`)
    for (const i of s.instances) lines.push(`  ${i.node}  ${i.name.padEnd(20)} ${i.state}${i.up ? ' up' : ''}`)
    if (s.held !== '') lines.push(`  held: waits for ${s.held}`)
  }
  for (const w of v.warnings) lines.push(`warning: ${w}`)
  for (const e of v.explain) lines.push(`why: ${e}`)
  return lines.join('\n') + '\n'
}

export function registerPlacement(program: Command): void {
  const placement = program.command('placement').description("keep the flock's services where a khan program says (docs/KHAN.md): the proctor on the leader places them, each node's dean runs its share")

  reach(
    placement
      .command('apply')
      .description('hand a khan program to the proctor: it places every service the program names on the flock\'s nodes from now on, moving as few as it can, and again whenever nodes come and go')
      .argument('<FILE>', 'the program (crux khan check FILE checks it alone)')
      .option('--bundle <SERVICE=HASH>', 'the bundle a placed service runs (a directory put with crux pastiche put); one per service the program places; repeatable', bundleArg, {}),
    'print {"version","services":[…],"warnings":[…],"proctor":"HOST:PORT"}',
    '\nExample:\n  crux placement apply web.khan --bundle web=sha256:… --target 127.77.0.1:50059 --data-dir /tmp/n1',
  ).action(async (file: string, f: Flags) => {
    const { readText } = await import('./khan-input.js')
    const { compile } = await import('../../machines/khan/compile.js')
    const text = readText(file)
    const c = compile(text)
    if (c.errors.length > 0) throw new CruxError(Code.FAILED_PRECONDITION, c.errors.map((e) => `${file}:${e.message}`).join('\n'))
    const { placedServices } = await import('../../machines/placement/names.js')
    const placed = placedServices(c.checked!.picks)
    const missing = placed.filter((s) => f.bundle[s] === undefined)
    if (missing.length > 0) throw new InvalidArgumentError(`${file} places ${missing.join(', ')} with no bundle: give --bundle ${missing[0]}=sha256:… for each`)
    const extra = Object.keys(f.bundle).filter((s) => !placed.includes(s))
    if (extra.length > 0) throw new InvalidArgumentError(`--bundle ${extra[0]}: ${file} does not place ${extra.join(', ')}`)
    await withProctor(f, async (client) => {
      const r = await client.apply(text, f.bundle)
      say(f, { version: r.version, services: r.services, warnings: r.warnings, proctor: client.address }, `program v${r.version} applied at ${client.address}: ${r.services.join(', ') || 'nothing placed'}\n${r.warnings.map((w) => `warning: ${file}:${w}\n`).join('')}`)
    })
  })

  reach(
    placement.command('ls').description('what the proctor placed where, how far each instance is, what waits for a start clause, and why a program cannot be placed'),
    'print {"proctor","version","term","ok","nodes":[…],"services":[{"service","hash","wanted","up","held","instances":[{"node","name","state","up"}]}],"warnings":[…],"explain":[…]}',
    '\nExample:\n  crux placement ls --target 127.77.0.1:50059 --data-dir /tmp/n1 --json',
  ).action(async (f: Reach) => {
    await withProctor(f, async (client, v) => {
      const { leading: _l, leader: _r, ...rest } = v
      say(f, { proctor: client.address, ...rest }, table(v, client.address))
    })
  })
}
