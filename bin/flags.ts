/**
 * Parsers for CLI flag values. Each throws InvalidArgumentError naming the flag and what was wrong,
 * which bin/crux.ts turns into one `crux: …` line and exit code 2.
 */
import { Option } from 'commander'
import { InvalidArgumentError } from '../runtime/errors.js'
import { formatHostPort, parseHostPort } from '../runtime/udp-address.js'

export function int(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v)
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`)
    }
    return n
  }
}

/** A number in [min, max]. */
export function float(flag: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v)
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`)
    return n
  }
}

export function prob(flag: string) {
  return (v: string): number => {
    const n = Number(v)
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`${flag} must be a probability in [0, 1], got ${JSON.stringify(v)}`)
    return n
  }
}

/** `MS` or `MS-MS`: each a duration (a bare number is milliseconds), e.g. `5`, `2ms-20ms`, `0.5s`. */
export function delay(flag: string) {
  const one = duration(flag, { bare: 'ms', min: 0, max: 3_600_000 })
  return (v: string): number | [number, number] => {
    const m = /^([^-]+)(?:-([^-]+))?$/.exec(v.trim())
    if (m === null) throw new InvalidArgumentError(`${flag} must be MS or MS-MS, got ${JSON.stringify(v)}`)
    const a = one(m[1]!)
    if (m[2] === undefined) return a
    const b = one(m[2])
    if (b < a) throw new InvalidArgumentError(`${flag}: range ${v} runs backwards`)
    return [a, b]
  }
}

/** `AT_HB:GROUPS:HEAL_HB`. */
export function partition(flag: string) {
  return (v: string): { atHb: number; groups: number; healHb: number } => {
    const m = /^(\d+):(\d+):(\d+)$/.exec(v.trim())
    if (m === null) throw new InvalidArgumentError(`${flag} must be AT_HB:GROUPS:HEAL_HB, got ${JSON.stringify(v)}`)
    const [atHb, groups, healHb] = [Number(m[1]), Number(m[2]), Number(m[3])]
    if (groups < 2) throw new InvalidArgumentError(`${flag}: GROUPS must be at least 2`)
    if (healHb <= atHb) throw new InvalidArgumentError(`${flag}: HEAL_HB must come after AT_HB`)
    return { atHb, groups, healHb }
  }
}

/** `AT_HB:A-B[:HEAL_HB]`: node indices A and B. */
export function dropLink(flag: string) {
  return (v: string): { atHb: number; a: number; b: number; healHb?: number } => {
    const m = /^(\d+):(\d+)-(\d+)(?::(\d+))?$/.exec(v.trim())
    if (m === null) throw new InvalidArgumentError(`${flag} must be AT_HB:A-B[:HEAL_HB] (node indices), got ${JSON.stringify(v)}`)
    const [atHb, a, b] = [Number(m[1]), Number(m[2]), Number(m[3])]
    if (a === b) throw new InvalidArgumentError(`${flag}: A and B must be different nodes`)
    if (m[4] === undefined) return { atHb, a, b }
    const healHb = Number(m[4])
    if (healHb <= atHb) throw new InvalidArgumentError(`${flag}: HEAL_HB must come after AT_HB`)
    return { atHb, a, b, healHb }
  }
}

/** `AT_HB:FRACTION`. */
export function atFraction(flag: string) {
  return (v: string): { atHb: number; fraction: number } => {
    const m = /^(\d+):([0-9.]+)$/.exec(v.trim())
    const f = m === null ? NaN : Number(m[2])
    if (m === null || !(f >= 0 && f <= 1)) throw new InvalidArgumentError(`${flag} must be AT_HB:FRACTION with FRACTION in [0, 1], got ${JSON.stringify(v)}`)
    return { atHb: Number(m[1]), fraction: f }
  }
}

/** `HOST:PORT` (or `[IPv6]:PORT`), parsed as the UDP transport parses addresses; port 0 only where binding. */
export function hostPort(flag: string, allowZero = false) {
  return (v: string): { host: string; port: number } => {
    const hp = parseHostPort(v.trim(), allowZero)
    if (hp === undefined) throw new InvalidArgumentError(`${flag} must be HOST:PORT, got ${JSON.stringify(v)}`)
    return hp
  }
}

/** A `HOST:PORT` to send to, kept as the string the transport takes. */
export function target(flag: string) {
  const parse = hostPort(flag)
  return (v: string): string => {
    const { host, port } = parse(v)
    return formatHostPort(host, port)
  }
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const

/**
 * A duration in whole milliseconds as `crux` writes it back: `500ms`, `5s`, `1.5s`, `2m`, `1h`.
 * Used in help defaults and messages, so they read in the syntax {@link duration} accepts.
 */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`
}

/**
 * A duration flag, parsed to whole milliseconds: a number with a unit (`500ms`, `5s`, `1.5s`, `2m`,
 * `1h`), the same on every command. A bare number means the unit the flag's metavar states
 * (`--heartbeat MS`, `--ttl S`: CLI.md fixes those); for flags that never had one unit across
 * commands (`--timeout` was ms here and s there) a bare number is refused rather than guessed, so a
 * 3000 meant as milliseconds never silently becomes 50 minutes.
 */
export function duration(flag: string, o: { bare: 'ms' | 's' | 'refuse'; min: number; max: number }) {
  const bareNote = o.bare === 'refuse' ? '' : ` (a bare number is ${o.bare === 'ms' ? 'milliseconds' : 'seconds'})`
  return (v: string): number => {
    const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?$/.exec(v.trim())
    if (m === null) throw new InvalidArgumentError(`${flag} must be a duration such as 500ms, 5s, 1.5s or 2m${bareNote}, got ${JSON.stringify(v)}`)
    const unit = m[2] as keyof typeof UNIT_MS | undefined
    if (unit === undefined && o.bare === 'refuse') throw new InvalidArgumentError(`${flag} needs a unit, e.g. 500ms or 5s, got ${JSON.stringify(v)}`)
    const ms = Math.round(Number(m[1]) * UNIT_MS[unit ?? (o.bare === 's' ? 's' : 'ms')])
    if (!(ms >= o.min && ms <= o.max)) throw new InvalidArgumentError(`${flag} must be from ${formatDuration(o.min)} to ${formatDuration(o.max)}${bareNote}, got ${JSON.stringify(v)}`)
    return ms
  }
}

/** An option whose value is a {@link duration}, its default shown in help as a duration (`3s`, not `3000`). */
export function durationOption(flags: string, description: string, range: Parameters<typeof duration>[1], defaultMs?: number): Option {
  const o = new Option(flags, description).argParser(duration(flags.split(' ')[0]!, range))
  return defaultMs === undefined ? o : o.default(defaultMs, formatDuration(defaultMs))
}

/** One of `values` (a flag whose value is a name from a fixed list). */
export function oneOf<T extends string>(flag: string, values: readonly T[]) {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`${flag} must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`)
    return v as T
  }
}

/** A name of 1–64 letters, digits, '.', '_' or '-' (a horde, a bloc). */
export function name(flag: string) {
  return (v: string): string => {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw new InvalidArgumentError(`${flag} must be 1–64 of letters, digits, '.', '_', '-', got ${JSON.stringify(v)}`)
    return v
  }
}
