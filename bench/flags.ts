/** Reads a positive integer flag (`--name N`) from a benchmark's arguments, with a default. */
export function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name)
  if (i < 0) return fallback
  const v = Number(args[i + 1])
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer, got ${JSON.stringify(args[i + 1])}`)
  return v
}

/** Reads a string flag (`--name VALUE`) from a benchmark's arguments, with a default. */
export function stringFlag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name)
  if (i < 0) return fallback
  const v = args[i + 1]
  if (v === undefined) throw new Error(`${name} needs a value`)
  return v
}
