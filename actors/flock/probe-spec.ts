/**
 * `--probe` values (CLI.md) → the flock's ProbeSpec: a CIDR (`127.77.0.0/24`, port = the listen
 * port), `HOST:PORT`, `HOST:PORT-PORT`, or `@file` with one spec a line (`#` comments). A CIDR becomes
 * a range the machine draws from (every host but the network and broadcast addresses of blocks
 * larger than /31); single addresses become seeds.
 */
import { readFileSync } from 'node:fs'
import type { ProbeRange, ProbeSpec } from '../../machines/flock/types.js'
import { InvalidArgumentError } from '../../runtime/errors.js'

function ipv4(s: string, what: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (m === null || m.slice(1).some((o) => Number(o) > 255)) throw new InvalidArgumentError(`${what}: ${JSON.stringify(s)} is not an IPv4 address`)
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0
}

function port(s: string, what: string): number {
  const n = Number(s)
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new InvalidArgumentError(`${what}: port ${JSON.stringify(s)} is not in 1–65535`)
  return n
}

/** Parses one spec into `into`; `listenPort` fills in CIDR ports. */
function parseOne(spec: string, listenPort: number, into: ProbeSpec, depth: number): void {
  const what = `--probe ${JSON.stringify(spec)}`
  if (spec.startsWith('@')) {
    if (depth > 0) throw new InvalidArgumentError(`${what}: a probe file may not include another`)
    let text: string
    try {
      text = readFileSync(spec.slice(1), 'utf8')
    } catch (err) {
      throw new InvalidArgumentError(`${what}: cannot read ${spec.slice(1)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    for (const line of text.split('\n')) {
      const l = line.replace(/#.*/, '').trim()
      if (l !== '') parseOne(l, listenPort, into, depth + 1)
    }
    return
  }
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(spec)
  if (cidr !== null) {
    const bits = Number(cidr[2])
    if (bits < 8 || bits > 32) throw new InvalidArgumentError(`${what}: prefix length must be 8–32`)
    const size = 2 ** (32 - bits)
    const base = (ipv4(cidr[1]!, what) & (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)) >>> 0
    const range: ProbeRange =
      size <= 2 ? { kind: 'ipv4', base, count: size, portFrom: listenPort, portTo: listenPort } : { kind: 'ipv4', base: base + 1, count: size - 2, portFrom: listenPort, portTo: listenPort }
    into.ranges.push(range)
    return
  }
  const hp = /^([^:\s]+):(\d+)(?:-(\d+))?$/.exec(spec)
  if (hp === null) throw new InvalidArgumentError(`${what}: expected CIDR, HOST:PORT, HOST:PORT-PORT or @file`)
  const host = hp[1]!
  const from = port(hp[2]!, what)
  if (hp[3] === undefined) {
    into.seeds.push(`${host}:${from}`)
    return
  }
  const to = port(hp[3], what)
  if (to < from) throw new InvalidArgumentError(`${what}: port range runs backwards`)
  into.ranges.push({ kind: 'ipv4', base: ipv4(host, what), count: 1, portFrom: from, portTo: to })
}

/** All `--probe` values of a command line → one ProbeSpec (density 1: every address is worth a try). */
export function parseProbeSpecs(specs: readonly string[], listenPort: number): ProbeSpec {
  const spec: ProbeSpec = { seeds: [], ranges: [], density: 1 }
  for (const s of specs) parseOne(s.trim(), listenPort, spec, 0)
  return spec
}
