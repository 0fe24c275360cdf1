/**
 * The deploy files' configurations, run: three real fulcrums, one set up with the Dockerfile's
 * environment, one with the systemd unit's, one with the DaemonSet's (HOST_IP a loopback address),
 * form one flock; the probes the manifest names and the image's HEALTHCHECK pass on them; SIGTERM
 * ends each with exit 0. Only what a machine supplies is replaced: the data dir and secret paths (the
 * container's and systemd's are not ours to write), the addresses (loopback 127.77.140.x, as the
 * operator would set CRUX_ADVERTISE or HOST_IP would), and the probe range.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSecret } from '../../runtime/secret.js'
import { CRUX, dockerfile, envPairs, portOf, unitFile, yamlDoc } from './deploy-files.js'
import { exitOf, startFulcrum, until200 } from './fulcrum-process.js'

const NET = '127.77.140'
const PROBE = `${NET}.0/29`

/** The final stage's ENV, and its HEALTHCHECK command. */
function container() {
  const ins = dockerfile('deploy/Dockerfile')
  const stage = Math.max(...ins.map((i) => i.stage))
  const last = ins.filter((i) => i.stage === stage)
  const hc = last.find((i) => i.op === 'HEALTHCHECK')!.args
  return { env: Object.fromEntries(last.filter((i) => i.op === 'ENV').flatMap((i) => envPairs(i.args))), healthcheck: JSON.parse(hc.slice(hc.indexOf('['))) as string[] }
}

/** The unit's Environment= lines, specifiers expanded as systemd would for `state` and `creds`. */
function systemd(state: string, creds: string): Record<string, string> {
  const lines = unitFile('deploy/systemd/crux-fulcrum.service').get('Service')!.get('Environment')!
  const pairs = lines.map((line) => line.replace(/^"(.*)"$/, '$1'))
  return Object.fromEntries(pairs.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1).replace('%S', state).replace('%d', creds)]))
}

/** The DaemonSet's env (HOST_IP given, $(VAR) expanded as the kubelet does) over its ConfigMap's. */
function kubernetes(hostIp: string) {
  const ds = yamlDoc('deploy/k8s/daemonset.yaml')
  const c = ds.spec.template.spec.containers.find((x: any) => x.name === 'fulcrum')
  const env: Record<string, string> = { ...yamlDoc('deploy/k8s/configmap.yaml').data, HOST_IP: hostIp }
  for (const e of c.env) if (e.value !== undefined) env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? '')
  return { env, liveness: c.livenessProbe.httpGet.path as string, readiness: c.readinessProbe.httpGet.path as string }
}

test('fulcrums configured by the Dockerfile, the systemd unit and the DaemonSet form one flock and pass their probes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-deploy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'flock.secret'), generateSecret(), { mode: 0o600 })
  const image = container()
  const metricsPort = portOf(image.env.CRUX_METRICS!)
  const envs: Array<Record<string, string>> = [
    // The image as run: its ENV, and what the operator adds with -e.
    { ...image.env, CRUX_DATA_DIR: join(dir, 'container'), CRUX_SECRET_FILE: join(dir, 'flock.secret'), CRUX_LISTEN: `${NET}.1:23123`, CRUX_ADVERTISE: `${NET}.1:23123`, CRUX_PROBE: PROBE, CRUX_METRICS: `${NET}.1:${metricsPort}` },
    // The unit as run, with /etc/crux/fulcrum.env setting what its example suggests.
    { ...systemd(dir, dir), CRUX_DATA_DIR: join(dir, 'systemd'), CRUX_LISTEN: `${NET}.2:23123`, CRUX_ADVERTISE: `${NET}.2:23123`, CRUX_PROBE: PROBE, CRUX_METRICS: `${NET}.2:${portOf(systemd(dir, dir).CRUX_METRICS!)}` },
    // The pod as run on a node whose address is 127.77.140.3.
    { ...kubernetes(`${NET}.3`).env, CRUX_DATA_DIR: join(dir, 'k8s'), CRUX_SECRET_FILE: join(dir, 'flock.secret'), CRUX_PROBE: PROBE },
  ]
  t.is(envs[1]!.CRUX_SECRET_FILE, join(dir, 'flock.secret'), 'the unit names the credential the test wrote')
  const pod = kubernetes(`${NET}.3`)
  const children = envs.map((env) => startFulcrum(t, env))
  for (const [i, env] of envs.entries()) {
    const base = `http://${env.CRUX_METRICS}`
    await until200(children[i]!, `${base}${pod.liveness}`)
    await until200(children[i]!, `${base}${pod.readiness}`)
  }
  const names = spawnSync(process.execPath, [CRUX, 'names', '--target', `${NET}.3:23123`, '--secret-file', join(dir, 'flock.secret'), '--json'], { encoding: 'utf8', timeout: 30_000 })
  t.is(names.status, 0, names.stderr)
  t.is(JSON.parse(names.stdout).members, 3)
  // The image's HEALTHCHECK, run against the fulcrum the image's environment configured.
  const [, ...args] = image.healthcheck
  const hc = spawnSync(process.execPath, args, { env: { ...process.env, CRUX_METRICS: envs[0]!.CRUX_METRICS }, timeout: 30_000 })
  t.is(hc.status, 0)
  for (const c of children) c.kill('SIGTERM')
  t.deepEqual(await Promise.all(children.map(exitOf)), [0, 0, 0])
})
