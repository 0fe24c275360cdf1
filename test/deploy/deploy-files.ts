/**
 * Readers for the files in deploy/, shared by the deploy tests: the fulcrum's real option names
 * (from its own --help, so a renamed flag breaks every file that still uses the old name), YAML
 * documents, Dockerfile instructions and systemd unit settings.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

/** The bundle every installed `crux` is; tests run from the package root. */
export const CRUX = 'dist/bin/crux.bundle.mjs'

/** The metrics port the deploy files and docs/OPERATING.md reserve. */
export const METRICS_PORT = 23124

let names: Set<string> | undefined

/** `crux fulcrum --help`'s long options, without the dashes (`data-dir`, `secret-file`, …). */
export function fulcrumFlags(): string[] {
  const r = spawnSync(process.execPath, [CRUX, 'fulcrum', '--help'], { encoding: 'utf8', timeout: 30_000 })
  if (r.status !== 0) throw new Error(`crux fulcrum --help failed: ${r.stderr}`)
  const flags = [...r.stdout.matchAll(/^\s+(?:-\w, )?--([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!)
  return flags.filter((f) => f !== 'help')
}

/** `--secret-file` → `CRUX_SECRET_FILE`. */
export const envName = (flag: string): string => `CRUX_${flag.toUpperCase().replace(/-/g, '_')}`

/** Every CRUX_<FLAG> name a fulcrum reads. */
export function fulcrumEnvNames(): Set<string> {
  names ??= new Set(fulcrumFlags().map(envName))
  return names
}

/** js-yaml is here through AVA (a development dependency only); v3 and v4 both have loadAll. */
const yaml = createRequire(import.meta.url)('js-yaml') as { loadAll(text: string): unknown[] }

/** Every document of a YAML file, comments and empty documents dropped. */
export function yamlDocs(path: string): any[] {
  return yaml.loadAll(readFileSync(path, 'utf8')).filter((d) => d !== null && d !== undefined) as any[]
}

/** The one document of a YAML file. */
export function yamlDoc(path: string): any {
  const docs = yamlDocs(path)
  if (docs.length !== 1) throw new Error(`${path}: ${docs.length} documents, expected 1`)
  return docs[0]
}

/** One Dockerfile instruction: its keyword (upper case), its text, and the stage it is in (0-based). */
export interface Instruction {
  op: string
  args: string
  stage: number
}

/** Instructions of a Dockerfile: comments dropped, backslash continuations joined. */
export function dockerfile(path: string): Instruction[] {
  const out: Instruction[] = []
  let stage = -1
  let pending = ''
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    if (pending === '' && /^\s*(#|$)/.test(raw)) continue
    if (/\\\s*$/.test(raw)) {
      pending += raw.replace(/\\\s*$/, ' ')
      continue
    }
    const line = (pending + raw).trim()
    pending = ''
    const m = /^(\w+)\s+(.*)$/s.exec(line)
    if (m === null) throw new Error(`${path}: cannot read ${JSON.stringify(line)}`)
    const op = m[1]!.toUpperCase()
    if (op === 'FROM') stage += 1
    out.push({ op, args: m[2]!.replace(/\s+/g, ' ').trim(), stage })
  }
  return out
}

/** `ENV A=1 B="2 3"` → [['A', '1'], ['B', '2 3']] (values unquoted or in double quotes, as in deploy/Dockerfile). */
export function envPairs(args: string): Array<[string, string]> {
  return [...args.matchAll(/(\S+?)=("[^"]*"|\S*)(?:\s+|$)/g)].map((m) => {
    if (m[1]!.length < 1) throw new Error(`ENV ${args}: expected KEY=VALUE pairs`)
    return [m[1]!, m[2]!.replace(/^"(.*)"$/, '$1')]
  })
}

/** A systemd unit as section → key → values (a key may repeat). */
export function unitFile(path: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | undefined
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const l = line.trim()
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue
    const s = /^\[(.+)\]$/.exec(l)
    if (s !== null) {
      current = new Map()
      sections.set(s[1]!, current)
      continue
    }
    const i = l.indexOf('=')
    if (current === undefined || i < 1) throw new Error(`${path}: cannot read ${JSON.stringify(l)}`)
    const key = l.slice(0, i)
    current.set(key, [...(current.get(key) ?? []), l.slice(i + 1)])
  }
  return sections
}

/** The port of a `HOST:PORT` (or `$(VAR):PORT`). */
export const portOf = (hostPort: string): number => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))
