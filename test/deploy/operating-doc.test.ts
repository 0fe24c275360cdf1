/**
 * docs/OPERATING.md against the fulcrum and the deploy files: the variables and flags it tells
 * operators to set exist, and its port table is the ports the deploy files open.
 */
import test from 'ava'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSecret } from '../../runtime/secret.js'
import { dockerfile, fulcrumEnvNames, fulcrumFlags, yamlDoc } from './deploy-files.js'
import { exitOf, startFulcrum, until200 } from './fulcrum-process.js'

const DOC = readFileSync('docs/OPERATING.md', 'utf8')

/** The rows of the table under "## Ports and firewall": [port, flags cell]. */
function portRows(): Array<[string, string]> {
  const section = DOC.slice(DOC.indexOf('## Ports and firewall'), DOC.indexOf('\n## ', DOC.indexOf('## Ports and firewall') + 1))
  return [...section.matchAll(/^\| (\d+\/(?:udp|tcp)) \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!])
}

test('every CRUX_ variable the page names is a real fulcrum option', (t) => {
  const valid = fulcrumEnvNames()
  const named = new Set([...DOC.matchAll(/CRUX_[A-Z][A-Z0-9_]*/g)].map((m) => m[0]))
  t.true(named.size >= 5)
  for (const n of named) t.true(valid.has(n), `${n} is not an option of crux fulcrum`)
})

test('the port table names real flags, and the ports the image and the DaemonSet open', (t) => {
  const rows = portRows()
  const flags = new Set(fulcrumFlags())
  for (const [, cell] of rows) for (const m of cell.matchAll(/`--([a-z-]+)`/g)) t.true(flags.has(m[1]!), `--${m[1]} is not a flag of crux fulcrum`)
  const fulcrumPorts = rows.filter(([port]) => port !== '28351/udp').map(([port]) => port)
  const image = dockerfile('deploy/Dockerfile').filter((i) => i.op === 'EXPOSE').at(-1)!.args.split(' ')
  t.deepEqual(fulcrumPorts, image)
  const ds = yamlDoc('deploy/k8s/daemonset.yaml')
  const c = ds.spec.template.spec.containers.find((x: any) => x.name === 'fulcrum')
  t.deepEqual(c.ports.map((p: any) => `${p.containerPort}/${String(p.protocol).toLowerCase()}`), image)
})

/** The page's example --config file. */
const exampleConfig = (): string => /```yaml\n(# \/etc\/crux\/fulcrum\.yaml[\s\S]*?)```/.exec(DOC)![1]!

test('the example config file uses only flag names', (t) => {
  const yaml = exampleConfig()
  const keys = [...yaml.matchAll(/^([a-z][a-z0-9-]*):/gm)].map((m) => m[1]!)
  t.true(keys.length >= 5)
  const flags = new Set(fulcrumFlags())
  for (const k of keys) t.true(flags.has(k), `${k} is not a flag of crux fulcrum`)
})

test('the example config file starts a fulcrum that becomes ready', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-doc-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'flock.secret'), generateSecret(), { mode: 0o600 })
  // Only what a test machine must change: paths, and loopback addresses for the example's 10.0.x.y
  // (a wildcard listen is bound as a concrete one: the port may be in use on other addresses), out
  // of the range the other deploy tests' fulcrums use.
  const config = exampleConfig()
    .replace('/var/lib/crux', join(dir, 'data'))
    .replace('/etc/crux/flock.secret', join(dir, 'flock.secret'))
    .replace('0.0.0.0:23123', '127.77.140.13:23123')
    .replaceAll('10.0.0.5', '127.77.140.13')
    .replace('10.0.0.0/24', '127.77.140.12/30')
    .replace('10.0.1.7', '127.77.140.14')
  t.false(/\b10\.0\./.test(config), 'every example address replaced')
  writeFileSync(join(dir, 'fulcrum.yaml'), config)
  const child = startFulcrum(t, {}, ['--config', join(dir, 'fulcrum.yaml')])
  const metrics = /^metrics: (\S+)$/m.exec(config)![1]!
  await until200(child, `http://${metrics}/readyz`)
  child.kill('SIGTERM')
  t.is(await exitOf(child), 0)
})
