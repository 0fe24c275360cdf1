/**
 * Modules of crux's own installation a service may load (the manifest's `modules`), and what a
 * confined child must be let read for them.
 *
 * Otherwise a child process may read only its bundle, the bootstrap and its working directory
 * (child.ts), so it cannot load a package from crux's node_modules — yet a gRPC service wants grpc-js, which crux
 * ships anyway. The manifest names such modules from a fixed list, {@link SHIPPED_MODULES}; each is
 * resolved here from crux's own installation (not from the bundle: a bundle brings its own code, or
 * uses these), and the child is granted read access to the package directory of each one and of every
 * package it depends on, found the way Node's resolver would find it. Nothing else of node_modules is
 * granted, and nothing of the data dir: these are directories of public code.
 */
import { createRequire } from 'node:module'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { NotFoundError } from '../../runtime/errors.js'

/** What a manifest's `modules` may name: dependencies crux itself installs (package.json), kept few. */
export const SHIPPED_MODULES: readonly string[] = ['@grpc/grpc-js', '@grpc/proto-loader']

/** The modules of one service, resolved: each name's entry file, and the directories its run may read. */
export interface ResolvedModules {
  /** Module name → the absolute path `require` loads (what the bootstrap's `confab.require` takes). */
  entries: Record<string, string>
  /** Package directories (real paths) to grant read access to: the modules and all they depend on. */
  dirs: string[]
}

const cache = new Map<string, { entry: string; dirs: string[] }>()

/** The directory of package `name` as Node's resolver finds it from `fromDir` (a node_modules walk up), or null. */
function packageDir(name: string, fromDir: string): string | null {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const at = join(dir, 'node_modules', name)
    if (existsSync(join(at, 'package.json'))) return realpathSync(at)
    if (dirname(dir) === dir) return null
  }
}

/** Package directory `dir` and, transitively, those of its dependencies (optional ones only if installed). */
function closure(dir: string, into: Set<string>): void {
  if (into.has(dir)) return
  into.add(dir)
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }
  const deps = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})])
  for (const dep of deps) {
    const found = packageDir(dep, dir)
    if (found !== null) closure(found, into)
  }
}

/** Resolves one shipped module from crux's installation (`from`: a module of it); cached per process. */
function resolveOne(name: string, from: string): { entry: string; dirs: string[] } {
  const key = `${from}\0${name}`
  const known = cache.get(key)
  if (known !== undefined) return known
  let entry: string
  try {
    entry = realpathSync(createRequire(from).resolve(name))
  } catch {
    throw new NotFoundError(`module ${name} is not installed beside this crux (npm ci installs it)`)
  }
  // The package's own directory: the nearest one up from its entry that holds its package.json.
  let dir = dirname(entry)
  while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== name) {
    if (dirname(dir) === dir) throw new NotFoundError(`module ${name}: no package.json above ${entry}`)
    dir = dirname(dir)
  }
  const dirs = new Set<string>()
  closure(dir, dirs)
  const got = { entry, dirs: [...dirs] }
  cache.set(key, got)
  return got
}

/**
 * Resolves `names` (each one of {@link SHIPPED_MODULES}, as the manifest checked) from the
 * installation `from` belongs to (default: this module's); throws NotFoundError if one is missing.
 */
export function resolveModules(names: readonly string[], from: string = import.meta.url): ResolvedModules {
  const entries: Record<string, string> = {}
  const dirs = new Set<string>()
  for (const name of names) {
    if (!SHIPPED_MODULES.includes(name)) throw new NotFoundError(`module ${name} is not one crux ships for services (${SHIPPED_MODULES.join(', ')})`)
    const one = resolveOne(name, from)
    entries[name] = one.entry
    for (const d of one.dirs) dirs.add(d)
  }
  // A package nested inside another (`grpc-js/node_modules/…`) is already granted with it.
  const all = [...dirs].sort()
  return { entries, dirs: all.filter((d) => !all.some((o) => d.startsWith(`${o}/`))) }
}
