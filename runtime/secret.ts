/**
 * The flock's secondary key (seed 001): 32 random bytes, base64 in a file, shared by every member and
 * admin. `crux keygen secret` writes one; every command that talks to a flock reads one.
 */
import { readFileSync, statSync } from 'node:fs'
import { InvalidArgumentError, UnavailableError } from './errors.js'

export const SECRET_BYTES = 32

/** 32 fresh random bytes, base64 (the content of a secret file). */
export function generateSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(SECRET_BYTES))).toString('base64')
}

/** Reads and checks a secret file; every problem is one clear InvalidArgumentError naming the file. */
export function readSecretFile(path: string): Uint8Array {
  let text: string
  try {
    if (!statSync(path).isFile()) throw new InvalidArgumentError(`secret file ${path} is not a regular file`)
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    // No such file is a wrong argument (exit 2); a file there that cannot be read is a failure (exit 1, CLI.md).
    const Failure = code === 'ENOENT' || code === 'ENOTDIR' ? InvalidArgumentError : UnavailableError
    throw new Failure(`cannot read secret file ${path} (${code})`)
  }
  const b64 = text.trim()
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new InvalidArgumentError(`secret file ${path} is not base64 (make one with: crux keygen secret --out ${path})`)
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'))
  if (bytes.length !== SECRET_BYTES) throw new InvalidArgumentError(`secret file ${path} holds ${bytes.length} bytes; a flock secret is ${SECRET_BYTES}`)
  return bytes
}
