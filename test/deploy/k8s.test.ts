/**
 * deploy/k8s: what the manifests promise, checked offline. The structural checks need nothing but
 * js-yaml; where kubectl is installed it also builds the kustomization and decodes the DaemonSet
 * into Kubernetes' own types.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerfile, envName, fulcrumEnvNames, METRICS_PORT, portOf, yamlDoc, yamlDocs } from './deploy-files.js'

const K8S = 'deploy/k8s'
const kustomization = () => yamlDoc(join(K8S, 'kustomization.yaml'))
const daemonSet = () => yamlDoc(join(K8S, 'daemonset.yaml'))
const fulcrum = () => daemonSet().spec.template.spec.containers.find((c: any) => c.name === 'fulcrum')
const env = (c: any): Map<string, any> => new Map(c.env.map((e: any) => [e.name, e]))
const kubectl = (...args: string[]) => spawnSync('kubectl', args, { encoding: 'utf8', timeout: 60_000 })
const hasKubectl = () => kubectl('version', '--client').status === 0

/** A probe's port: a number, or the name of one of the container's ports. */
const probePort = (c: any, port: number | string) => (typeof port === 'number' ? port : c.ports.find((p: any) => p.name === port)?.containerPort)

test('the kustomization lists existing files, and leaves the placeholder secret out', (t) => {
  const k = kustomization()
  for (const r of k.resources) t.true(existsSync(join(K8S, r)), r)
  // `kubectl apply -k` must never put the placeholder over a real secret.
  t.false(k.resources.includes('secret.yaml'))
  t.is(k.namespace, 'crux')
  t.true(k.images.some((i: any) => i.name === fulcrum().image.split(':')[0]))
})

test('one fulcrum per node on the host network, replaced one at a time, never two at once', (t) => {
  const ds = daemonSet()
  const pod = ds.spec.template.spec
  t.is(ds.kind, 'DaemonSet')
  t.true(pod.hostNetwork)
  t.is(pod.dnsPolicy, 'ClusterFirstWithHostNet')
  t.is(ds.spec.updateStrategy.rollingUpdate.maxSurge, 0)
  t.false(pod.enableServiceLinks)
  // With host networking each port is the node's: containerPort and hostPort must agree.
  for (const p of fulcrum().ports) t.is(p.hostPort, p.containerPort, p.name)
})

test('every CRUX_ variable, in the DaemonSet and the ConfigMap, is a real fulcrum option', (t) => {
  const valid = fulcrumEnvNames()
  t.true(valid.has(envName('secret-file')) && valid.has(envName('data-dir')), 'the --help parse found the options')
  const c = fulcrum()
  const cm = yamlDoc(join(K8S, 'configmap.yaml'))
  t.deepEqual(c.envFrom.map((e: any) => e.configMapRef.name), [cm.metadata.name])
  const used = [...env(c).keys(), ...Object.keys(cm.data)].filter((n) => n.startsWith('CRUX_'))
  t.true(used.length >= 7)
  for (const n of used) t.true(valid.has(n), `${n} is not an option of crux fulcrum`)
  t.regex(cm.data.CRUX_PROBE, /^\S+$/)
})

test('the node announces its own address, from the downward API', (t) => {
  const c = fulcrum()
  const e = env(c)
  t.is(e.get('HOST_IP').valueFrom.fieldRef.fieldPath, 'status.hostIP')
  const flockPort = c.ports.find((p: any) => p.name === 'flock')
  t.is(flockPort.protocol, 'UDP')
  t.is(e.get('CRUX_ADVERTISE').value, `$(HOST_IP):${flockPort.containerPort}`)
  t.is(e.get('CRUX_LISTEN').value, `$(HOST_IP):${flockPort.containerPort}`)
  t.is(portOf(e.get('CRUX_GRPC').value), c.ports.find((p: any) => p.name === 'grpc').containerPort)
  // HOST_IP must come first: $(VAR) only expands variables defined earlier in the list.
  t.is(c.env[0].name, 'HOST_IP')
})

test('liveness and readiness ask /healthz and /readyz on the port the fulcrum serves metrics on', (t) => {
  const c = fulcrum()
  const metrics = portOf(env(c).get('CRUX_METRICS').value)
  t.is(metrics, METRICS_PORT)
  t.is(c.livenessProbe.httpGet.path, '/healthz')
  t.is(c.readinessProbe.httpGet.path, '/readyz')
  t.is(probePort(c, c.livenessProbe.httpGet.port), metrics)
  t.is(probePort(c, c.readinessProbe.httpGet.port), metrics)
  t.is(daemonSet().spec.template.metadata.annotations['prometheus.io/port'], String(metrics))
})

test('the secret is mounted and --secret-file points at it; the data dir is the node\'s /var/lib/crux', (t) => {
  const c = fulcrum()
  const pod = daemonSet().spec.template.spec
  const secret = yamlDoc(join(K8S, 'secret.yaml'))
  const file = env(c).get('CRUX_SECRET_FILE').value as string
  const mount = c.volumeMounts.find((m: any) => file.startsWith(`${m.mountPath}/`))
  t.truthy(mount, 'CRUX_SECRET_FILE is under a mounted volume')
  t.true(mount.readOnly)
  const vol = pod.volumes.find((v: any) => v.name === mount.name)
  t.is(vol.secret.secretName, secret.metadata.name)
  const item = vol.secret.items.find((i: any) => `${mount.mountPath}/${i.path}` === file)
  t.truthy(item, 'the file is one of the secret\'s items')
  t.true(item.key in secret.stringData)
  t.is(vol.secret.defaultMode, 0o440)
  // Written in decimal: YAML 1.1 (kubectl) reads 0440 as octal, YAML 1.2 as four hundred and forty.
  t.false(/defaultMode: 0\d/.test(readFileSync(join(K8S, 'daemonset.yaml'), 'utf8')))
  const dataDir = env(c).get('CRUX_DATA_DIR').value
  const dataMount = c.volumeMounts.find((m: any) => m.mountPath === dataDir)
  t.regex(pod.volumes.find((v: any) => v.name === dataMount.name).hostPath.path, /^\/var\/lib\/crux/)
})

test('non-root, read-only root, the image\'s uid; memory sized above the measured RSS', (t) => {
  const pod = daemonSet().spec.template.spec
  const c = fulcrum()
  t.true(pod.securityContext.runAsNonRoot)
  const user = dockerfile('deploy/Dockerfile').filter((i) => i.op === 'USER').at(-1)!.args
  t.is(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`, user)
  t.true(c.securityContext.readOnlyRootFilesystem)
  t.false(c.securityContext.allowPrivilegeEscalation)
  t.deepEqual(c.securityContext.capabilities.drop, ['ALL'])
  const mi = (q: string) => Number(/^(\d+)Mi$/.exec(q)![1])
  // Issue 14's measurement: 73–77 MB max at N=50; +50 MB under a gRPC request flood.
  t.true(mi(c.resources.requests.memory) >= 77)
  t.true(mi(c.resources.limits.memory) >= 77 + 50)
})

test('kubectl builds the kustomization and decodes the DaemonSet into its types, offline', (t) => {
  if (!hasKubectl()) {
    t.log('kubectl is not installed: only the structural checks above ran')
    t.pass()
    return
  }
  const built = kubectl('kustomize', K8S)
  t.is(built.status, 0, built.stderr)
  const dir = mkdtempSync(join(tmpdir(), 'crux-k8s-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'all.yaml'), built.stdout)
  const docs = yamlDocs(join(dir, 'all.yaml'))
  t.deepEqual(docs.map((d) => d.kind).sort(), ['ConfigMap', 'DaemonSet', 'Namespace'])
  // Not `kubectl apply --dry-run=client --validate=false`: it still asks an API server for its
  // resource list (without a kubeconfig, http://localhost:8080) and fails with no cluster.
  // `kubectl set env --local` decodes into the typed DaemonSet (a wrong type is an error) and
  // prints it back; a field it does not know is dropped, so everything must come back unchanged.
  const ds = docs.find((d) => d.kind === 'DaemonSet')
  writeFileSync(join(dir, 'ds.json'), JSON.stringify(ds))
  const typed = kubectl('set', 'env', '--local', '-f', join(dir, 'ds.json'), '-c', 'fulcrum', '-o', 'json', 'ROUNDTRIP=1')
  t.is(typed.status, 0, typed.stderr)
  const back = JSON.parse(typed.stdout)
  back.spec.template.spec.containers.find((c: any) => c.name === 'fulcrum').env.pop()
  t.deepEqual(missing(ds, back), [])
})

/** Paths of `want`'s leaves that `got` lacks or holds differently. */
function missing(want: unknown, got: unknown, path = ''): string[] {
  if (want === null || typeof want !== 'object') return want === got ? [] : [`${path}: ${JSON.stringify(want)} → ${JSON.stringify(got)}`]
  if (got === null || typeof got !== 'object') return [`${path}: missing`]
  return Object.entries(want).flatMap(([k, v]) => missing(v, (got as Record<string, unknown>)[k], `${path}.${k}`))
}
