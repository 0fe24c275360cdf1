/**
 * A service bundle's manifest, `crux-service.json` (issue 17): read, parsed and checked into a
 * {@link Manifest}. Every fault is a {@link ManifestError} of one line that names the field, so
 * `crux service start` can say what to fix. Unknown fields are refused, not ignored: a typo
 * (`ttlMS`) would otherwise run the service with a default its author did not mean.
 *
 * Names follow the catalog's rules: `api` and `service` are what a NodeID's last two fields accept
 * (machines/strew/ids.ts goodId, and never empty, `self` or `Reeve`), `instance` is a node name of the
 * catalog (1–64 of letters, digits, `.`, `_`, `-`: no `*`, which selectors read as a wildcard).
 */
import { lstat, open } from 'node:fs/promises'
import { join } from 'node:path'
import type { Manifest } from '../../machines/picket/types.js'
import { defaultService, goodId } from '../../machines/strew/ids.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { STREW_LIMITS } from '../strew/fields.js'
import { SHIPPED_MODULES } from './modules.js'

export type { Manifest }

/** The manifest's file name, at the bundle's root. */
export const MANIFEST_FILE = 'crux-service.json'
/** A manifest longer than this is refused unread: it is a few lines of settings. */
export const MANIFEST_MAX_BYTES = 64 * 1024

/** A manifest that cannot be used; the message is one line naming the field. */
export class ManifestError extends InvalidArgumentError {
  constructor(message: string) {
    super(`${MANIFEST_FILE}: ${message}`)
    this.name = 'ManifestError'
  }
}

const NAME = /^[A-Z][A-Za-z0-9_]*$/
const INSTANCE = /^[A-Za-z0-9._-]{1,64}$/
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Variables that would change how Node runs the service (its permission flags among them). */
const ENV_REFUSED = new Set(['NODE_OPTIONS'])
const MAX_ARGS = 256
const MAX_ENV = 256
const MAX_STRING = 4096
const MAX_ENTRY = 256

/** Integer fields: default and bounds, ms (MiB for memoryMb). */
const NUMBERS = {
  ttlMs: { def: 3000, min: 100, max: 3_600_000 },
  startMs: { def: 10_000, min: 100, max: 3_600_000 },
  stopMs: { def: 5000, min: 0, max: 3_600_000 },
  graceMs: { def: 5000, min: 0, max: 86_400_000 },
} as const
const MEMORY = { min: 16, max: 65_536 }

const FIELDS = ['service', 'api', 'instance', 'entry', 'kind', 'args', 'env', 'memoryMb', 'modules', ...Object.keys(NUMBERS)]

const q = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s)
/** Any JSON value as written, cut short. */
const shown = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 80 ? `${s.slice(0, 80)}…` : s
}

/** A service or API name, as a NodeID takes it and as a service of its own (not empty, `self` or `Reeve`). */
function checkName(field: string, v: unknown): string {
  if (typeof v !== 'string') throw new ManifestError(`"${field}" must be a string`)
  if (!NAME.test(v) || !goodId(v)) throw new ManifestError(`"${field}" must match /^[A-Z][A-Za-z0-9_]*$/ (at most ${STREW_LIMITS.name} characters), got ${q(v)}`)
  if (v === 'Reeve') throw new ManifestError(`"${field}" must not be Reeve (the node's own registry)`)
  return v
}

/** A path inside the bundle: relative, no `..`, no empty or odd segments. */
function checkEntry(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new ManifestError('"entry" must be a non-empty string (a module path inside the bundle)')
  if (v.length > MAX_ENTRY) throw new ManifestError(`"entry" is longer than ${MAX_ENTRY} characters`)
  if (v.startsWith('/') || v.includes('\\') || v.includes('\0')) throw new ManifestError(`"entry" must be a relative path inside the bundle, got ${q(v)}`)
  if (v.split('/').some((s) => s === '..')) throw new ManifestError(`"entry" must stay inside the bundle (no ".."), got ${q(v)}`)
  return v
}

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ManifestError(`"${field}" must be an integer from ${min} to ${max}, got ${shown(v)}`)
  return v
}

function checkArgs(v: unknown): string[] {
  if (!Array.isArray(v) || v.length > MAX_ARGS) throw new ManifestError(`"args" must be an array of at most ${MAX_ARGS} strings`)
  v.forEach((a, i) => {
    if (typeof a !== 'string' || a.length > MAX_STRING || a.includes('\0')) throw new ManifestError(`"args"[${i}] must be a string of at most ${MAX_STRING} characters, without NUL`)
  })
  return v as string[]
}

function checkEnv(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ManifestError('"env" must be an object of string values')
  const keys = Object.keys(v)
  if (keys.length > MAX_ENV) throw new ManifestError(`"env" has ${keys.length} variables, at most ${MAX_ENV}`)
  const env: Record<string, string> = {}
  for (const k of keys) {
    if (!ENV_KEY.test(k) || k.length > 256) throw new ManifestError(`"env" key ${q(k)} must match /^[A-Za-z_][A-Za-z0-9_]*$/`)
    if (ENV_REFUSED.has(k)) throw new ManifestError(`"env" must not set ${k}: it would change how the service is confined`)
    const s = (v as Record<string, unknown>)[k]
    if (typeof s !== 'string' || s.length > MAX_STRING || s.includes('\0')) throw new ManifestError(`"env".${k} must be a string of at most ${MAX_STRING} characters, without NUL`)
    env[k] = s
  }
  return env
}

/** Names of modules crux ships for services ({@link SHIPPED_MODULES}), each at most once. */
function checkModules(v: unknown): string[] {
  if (!Array.isArray(v)) throw new ManifestError(`"modules" must be an array of module names (of ${SHIPPED_MODULES.join(', ')})`)
  v.forEach((m, i) => {
    if (typeof m !== 'string' || !SHIPPED_MODULES.includes(m)) throw new ManifestError(`"modules"[${i}] may only name a module crux ships (${SHIPPED_MODULES.join(', ')}), got ${shown(m)}`)
    if (v.indexOf(m) !== i) throw new ManifestError(`"modules" lists ${q(m)} twice`)
  })
  return [...(v as string[])]
}

/** Parses and checks a manifest's text (the entry's presence is {@link readManifest}'s to check). */
export function parseManifest(text: string): Manifest {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ManifestError(`not JSON (${(err as Error).message.split('\n')[0]})`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ManifestError('must be a JSON object')
  const o = raw as Record<string, unknown>
  for (const k of Object.keys(o)) if (!FIELDS.includes(k)) throw new ManifestError(`unknown field ${q(k)} (known: ${FIELDS.join(', ')})`)
  for (const k of ['api', 'instance', 'entry']) if (o[k] === undefined) throw new ManifestError(`"${k}" is required`)

  const api = checkName('api', o.api)
  // The service `crux service register` would give the API (Reeve1 is refused as Reeve).
  const service = checkName('service', o.service ?? defaultService(api))
  if (typeof o.instance !== 'string' || !INSTANCE.test(o.instance)) throw new ManifestError(`"instance" must be 1–64 of letters, digits, ".", "_", "-", got ${shown(o.instance)}`)
  const entry = checkEntry(o.entry)
  const kind = o.kind ?? 'process'
  if (kind !== 'process' && kind !== 'worker') throw new ManifestError(`"kind" must be "process" or "worker", got ${shown(kind)}`)
  const n = (k: keyof typeof NUMBERS) => (o[k] === undefined ? NUMBERS[k].def : checkInt(k, o[k], NUMBERS[k].min, NUMBERS[k].max))
  return {
    service,
    api,
    instance: o.instance,
    entry,
    kind,
    args: o.args === undefined ? [] : checkArgs(o.args),
    env: o.env === undefined ? {} : checkEnv(o.env),
    ttlMs: n('ttlMs'),
    startMs: n('startMs'),
    stopMs: n('stopMs'),
    graceMs: n('graceMs'),
    memoryMb: o.memoryMb === undefined || o.memoryMb === null ? null : checkInt('memoryMb', o.memoryMb, MEMORY.min, MEMORY.max),
    modules: o.modules === undefined ? [] : checkModules(o.modules),
  }
}

/** Reads `<dir>/crux-service.json` (at most {@link MANIFEST_MAX_BYTES}) and checks it, and that its entry is a regular file in `dir`. */
export async function readManifest(dir: string): Promise<Manifest> {
  let text: string
  let fh
  try {
    fh = await open(join(dir, MANIFEST_FILE), 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ManifestError(code === 'ENOENT' ? 'missing: a bundle is a directory with crux-service.json at its root' : `cannot be read (${code ?? (err as Error).message})`)
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new ManifestError('is not a regular file')
    if (st.size > MANIFEST_MAX_BYTES) throw new ManifestError(`is ${st.size} bytes, at most ${MANIFEST_MAX_BYTES}`)
    const buf = Buffer.alloc(st.size)
    const { bytesRead } = await fh.read(buf, 0, st.size, 0)
    text = buf.toString('utf8', 0, bytesRead)
  } finally {
    await fh.close()
  }
  const m = parseManifest(text)
  // lstat: the entry itself must be a file of the bundle, not a link pointing elsewhere.
  const st = await lstat(join(dir, m.entry)).catch(() => null)
  if (st === null) throw new ManifestError(`"entry" ${q(m.entry)} does not exist in the bundle`)
  if (!st.isFile()) throw new ManifestError(`"entry" ${q(m.entry)} is not a regular file`)
  return m
}
