/**
 * deploy/Dockerfile: its structure, and its HEALTHCHECK command run for real against HTTP servers
 * that answer as a healthy, a starting and an absent fulcrum would. Building the image needs a
 * container engine, which a test cannot count on.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dockerfile, envPairs, fulcrumEnvNames, fulcrumFlags, METRICS_PORT, portOf } from './deploy-files.js'

const FILE = 'deploy/Dockerfile'
const all = () => dockerfile(FILE)
const last = () => {
  const ins = all()
  const stage = Math.max(...ins.map((i) => i.stage))
  return ins.filter((i) => i.stage === stage)
}
const finalEnv = () => new Map(last().filter((i) => i.op === 'ENV').flatMap((i) => envPairs(i.args)))
/** The exec-form (JSON array) command of ENTRYPOINT, CMD or HEALTHCHECK … CMD. */
const execForm = (op: string): string[] => {
  const args = last().find((i) => i.op === op)!.args
  return JSON.parse(args.slice(args.indexOf('[')))
}

test('multi-stage: built in one stage, run from another that copies only the packed tree', (t) => {
  const froms = all().filter((i) => i.op === 'FROM')
  t.true(froms.length >= 2)
  t.regex(froms[0]!.args, / AS build$/)
  t.true(all().some((i) => i.stage === 0 && i.op === 'RUN' && /npm ci\b/.test(i.args)))
  t.true(all().some((i) => i.stage === 0 && i.op === 'RUN' && /npm run build/.test(i.args)))
  t.true(all().some((i) => i.stage === 0 && i.op === 'RUN' && /npm pack\b.*npm ci --omit=dev/.test(i.args)))
  t.deepEqual(last().filter((i) => i.op === 'COPY').map((i) => i.args), ['--from=build /opt/crux /opt/crux'])
  t.is(all().find((i) => i.op === 'ARG')!.args, 'NODE_IMAGE=node:20-bookworm-slim')
})

test('the build stage copies every source the package is built from', (t) => {
  const copied = all().filter((i) => i.stage === 0 && i.op === 'COPY').flatMap((i) => i.args.split(' ').slice(0, -1))
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] }
  const tsconfig = JSON.parse(readFileSync('tsconfig.json', 'utf8')) as { include: string[] }
  // dist is what the build makes; test and bench are compiled for development, not shipped.
  const needed = [...pkg.files.filter((f) => f !== 'dist'), ...tsconfig.include.map((p) => p.split('/')[0]!).filter((p) => p !== 'test' && p !== 'bench'), 'package.json', 'package-lock.json', 'tsconfig.json']
  for (const n of needed) t.true(copied.includes(n), `${n} is not copied`)
})

test('runs as a non-root user, data dir a volume, ports exposed', (t) => {
  const user = last().filter((i) => i.op === 'USER').at(-1)!.args
  t.regex(user, /^\d+:\d+$/)
  t.not(user.split(':')[0], '0')
  const env = finalEnv()
  t.deepEqual(JSON.parse(last().find((i) => i.op === 'VOLUME')!.args), [env.get('CRUX_DATA_DIR')])
  const exposed = last().find((i) => i.op === 'EXPOSE')!.args.split(' ')
  t.deepEqual(exposed, ['23123/udp', '50059/tcp', `${METRICS_PORT}/tcp`])
  t.is(portOf(env.get('CRUX_METRICS')!), METRICS_PORT)
})

test('the entrypoint is `crux fulcrum`, configured by real CRUX_ variables', (t) => {
  const entry = execForm('ENTRYPOINT')
  t.deepEqual(entry.slice(0, 2), ['crux', 'fulcrum'])
  const flags = new Set(fulcrumFlags())
  for (const a of entry.filter((a) => a.startsWith('--'))) t.true(flags.has(a.slice(2).split('=')[0]!), a)
  const valid = fulcrumEnvNames()
  const names = [...finalEnv().keys()].filter((n) => n.startsWith('CRUX_'))
  t.true(names.length >= 3)
  for (const n of names) t.true(valid.has(n), `${n} is not an option of crux fulcrum`)
})

/** Runs the HEALTHCHECK command (its `node` is this Node) with CRUX_METRICS set; its exit code. */
function healthcheck(metrics: string): Promise<number | null> {
  const [node, ...args] = execForm('HEALTHCHECK')
  if (node !== 'node') throw new Error('the healthcheck is expected to run node')
  const child = spawn(process.execPath, args, { env: { ...process.env, CRUX_METRICS: metrics }, stdio: 'ignore' })
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)))
}

/** An HTTP server answering `status` on /healthz (404 elsewhere); the paths it was asked. */
async function server(host: string, status: number) {
  const asked: string[] = []
  const s = createServer((req, res) => {
    asked.push(req.url ?? '')
    res.writeHead(req.url === '/healthz' ? status : 404).end()
  })
  await new Promise<void>((r) => s.listen(0, host, r))
  return { port: (s.address() as AddressInfo).port, asked, close: () => new Promise<void>((r) => s.close(() => r())) }
}

test('HEALTHCHECK asks /healthz at CRUX_METRICS: healthy on 200, not on 503 or no answer', async (t) => {
  t.true(last().find((i) => i.op === 'HEALTHCHECK')!.args.startsWith('--interval'))
  const ok = await server('127.77.140.20', 200)
  t.is(await healthcheck(`127.77.140.20:${ok.port}`), 0)
  t.deepEqual(ok.asked, ['/healthz'])
  await ok.close()
  const starting = await server('127.77.140.20', 503)
  t.is(await healthcheck(`127.77.140.20:${starting.port}`), 1)
  await starting.close()
  t.is(await healthcheck(`127.77.140.20:${starting.port}`), 1)
  t.is(await healthcheck(''), 1)
})

test('HEALTHCHECK asks a wildcard metrics address on loopback', async (t) => {
  const ok = await server('127.0.0.1', 200)
  t.is(await healthcheck(`0.0.0.0:${ok.port}`), 0)
  t.deepEqual(ok.asked, ['/healthz'])
  await ok.close()
})
