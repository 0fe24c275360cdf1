/**
 * The most a server on crux's gRPC stack can answer on this machine: bench/strew.ts's put and get
 * phases (same client, same calls, same counts) against a reeve that does nothing
 * (bench/lib/null-reeve.ts), in its own process. `crux`: behind crux's gRPC edge (mutual TLS on its
 * own listener, bounds, per-call KeyID check); `grpc-js`: a bare grpc-js server with mutual TLS;
 * `plain`: a bare grpc-js server and client in plaintext, as etcd-bench reaches etcd (what TLS costs,
 * both ends, is the difference from `grpc-js`). Read
 * the fulcrum's `bench strew` figures, and etcd's, against these: what the fulcrum loses to them is
 * its own work (mailboxes, machines, the log, the steward); what these lose to etcd is the stack's.
 *
 *   npm run bench -- grpc-ceiling [--keys 10000] [--conc 64] [--stack crux|grpc-js|plain|all] [--durable] [--ip 127.77.91.1]
 *
 * `--durable`: each registration is also written and fdatasynced before its answer
 * (bench/lib/null-reeve.ts), the least a server that keeps registrations on disk does; keys then
 * start `<stack>durable_`.
 *
 * Keys: `<stack>_put_seq_ops`, `_put_conc_ops`, `_get_seq_ops`, `_get_conc_ops` (with p50/p99),
 * `<stack>_server_cpu_s`, `<stack>_client_cpu_s`, and the null reeve's peak RSS `<stack>_rss_mb_peak`
 * (what the stack alone holds under this load, with nothing stored); `grpcjs_…` for grpc-js.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import { createReeveClient } from '../actors/strew/client.js'
import { ReeveServiceClient } from '../protos/gen/crux/v1/reeve.js'
import { loadPeerTls } from '../runtime/grpc-tls.js'
import { generateSecret } from '../runtime/secret.js'
import { flag, stringFlag } from './flags.js'
import { r2, timedPhase } from './lib/pool.js'
import { procCpuS, statusKb } from './lib/proc.js'

const entry = fileURLToPath(new URL('./lib/null-reeve.js', import.meta.url))
const STACKS = ['crux', 'grpc-js', 'plain']

/** Starts the null reeve; resolves with its port once it listens. */
function startNull(stack: string, ip: string, dataDir: string, secretFile: string, durable: boolean): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--max-semi-space-size=1', '--heap-growing-percent=30', entry, stack, ip, dataDir, secretFile, durable ? 'durable' : 'none'], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let text = ''
    child.stdout!.on('data', (b: Buffer) => {
      text += b.toString()
      if (text.includes('\n')) resolve({ child, port: Number(text.trim()) })
    })
    child.once('exit', (code) => reject(new Error(`the null reeve (${stack}) exited with ${code} before listening`)))
  })
}

/** The calls the phases make. */
interface BenchClient {
  ping(): Promise<unknown>
  register(service: string): Promise<unknown>
  lookup(endpoint: string): Promise<unknown>
  close(): void
}

/** crux's reeve client on the flock's mutual TLS, or (`plain`) grpc-js's generated client in plaintext. */
function clientFor(stack: string, address: string, dataDir: string): BenchClient {
  if (stack !== 'plain') {
    const c = createReeveClient({ address, tls: loadPeerTls(dataDir), timeoutMs: 30_000 })
    return { ping: () => c.ping(), register: (service) => c.register({ service, api: 'Bench1', address: '127.0.0.1:9000' }), lookup: (endpoint) => c.catalog({ endpoint }), close: () => c.close() }
  }
  const c = new ReeveServiceClient(address, grpc.credentials.createInsecure())
  const call = <Req, Res>(fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req) =>
    new Promise<Res>((resolve, reject) => void fn.call(c, req, (err, res) => (err ? reject(err) : resolve(res))))
  const endpoint = (service: string) => ({ nodeId: `/crux/default/n0/${service}/Bench1`, netId: '', horde: '', api: 'Bench1', instance: '', address: '127.0.0.1:9000', state: 1, keyId: '', tags: [] })
  return {
    ping: () => call(c.ping, { text: 'ping' }),
    register: (service) => call(c.registerService, { endpoint: endpoint(service), heartbeat: undefined }),
    lookup: (e) => call(c.getCatalog, { nodeId: '', api: '', endpoint: e }),
    close: () => c.close(),
  }
}

/** One stack: the four phases, with `keys` calls each. */
async function measure(stack: string, o: { keys: number; conc: number; ip: string; dir: string; secretFile: string; durable: boolean }, log: (s: string) => void): Promise<Record<string, unknown>> {
  const dataDir = join(o.dir, stack)
  const { child, port } = await startNull(stack, o.ip, dataDir, o.secretFile, o.durable)
  const c = clientFor(stack, `${o.ip}:${port}`, dataDir)
  const out: Record<string, unknown> = {}
  try {
    await c.ping()
    for (let i = 0; i < 500; i++) await c.register(`W${i}`)
    const cpu0 = procCpuS(child.pid!)
    const cu0 = process.cpuUsage()
    const key = (p: string, i: number) => `${p}${String(i).padStart(6, '0')}`
    const phase = (name: string, conc: number, fn: (i: number) => Promise<unknown>) => timedPhase(name, o.keys, conc, fn, out, (s) => log(`${stack} ${s}`))
    await phase('put_seq', 1, (i) => c.register(key('S', i)))
    await phase('put_conc', o.conc, (i) => c.register(key('C', i)))
    await phase('get_seq', 1, (i) => c.lookup(key('S', i)))
    await phase('get_conc', o.conc, (i) => c.lookup(key('C', i)))
    out.server_cpu_s = r2(procCpuS(child.pid!) - cpu0)
    const cu = process.cpuUsage(cu0)
    out.client_cpu_s = r2((cu.user + cu.system) / 1e6)
    out.rss_mb_peak = r2(statusKb(child.pid!, 'VmHWM') / 1024)
    return out
  } finally {
    c.close()
    child.kill('SIGTERM')
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const keys = flag(args, '--keys', 10_000)
  const conc = flag(args, '--conc', 64)
  const ip = stringFlag(args, '--ip', '127.77.91.1')
  const which = stringFlag(args, '--stack', 'all')
  const durable = args.includes('--durable')
  if (which !== 'all' && !STACKS.includes(which)) throw new Error(`--stack must be crux, grpc-js, plain or all, not ${JSON.stringify(which)}`)
  const log = (s: string) => process.stderr.write(`[grpc-ceiling] ${s}\n`)
  const dir = mkdtempSync(join(tmpdir(), 'crux-grpc-ceiling-'))
  const secretFile = join(dir, 'flock.secret')
  writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
  const out: Record<string, unknown> = { keys, conc, durable }
  try {
    for (const stack of which === 'all' ? STACKS : [which]) {
      const r = await measure(stack, { keys, conc, ip, dir, secretFile, durable }, log)
      for (const [k, v] of Object.entries(r)) out[`${stack.replace('-', '')}${durable ? 'durable' : ''}_${k}`] = v
    }
    return out
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
