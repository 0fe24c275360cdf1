/**
 * The store's size bound as an operator writes it: `--pastiche-limit 10G`, `512M`, `1.5T`, or a bare
 * byte count. Suffixes are binary (K = 1024 bytes); `GiB`-style spellings are taken too.
 */
import { InvalidArgumentError } from '../../runtime/errors.js'

/** The default bound: 10 GiB (docs/PASTICHE.md "gRPC edge"). */
export const DEFAULT_PASTICHE_LIMIT = 10 * 1024 ** 3

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }

/** Bytes of `text` (`10G`, `512M`, `1.5T`, `1048576`); throws {@link InvalidArgumentError} naming `flag`. */
export function parseByteSize(text: string, flag = '--pastiche-limit'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text)
  const bad = () => new InvalidArgumentError(`${flag} must be a size such as 10G, 512M or a byte count, got ${JSON.stringify(text)}`)
  if (m === null) throw bad()
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!)
  if (!Number.isSafeInteger(bytes)) throw bad()
  return bytes
}
