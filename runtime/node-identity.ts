/**
 * A node's Ed25519 identity (seed 002; ARCHITECTURE §5): a 32-byte secret key kept in the data dir
 * (`node.key`, base64, mode 0600), made once and then reused. The public key names the node to
 * sessions, certificates and the registry's whitelist, and the node's flock id is derived from it
 * ({@link nodeIdOf}), so a peer can check that a packet's sender id belongs to the key of the session
 * it came under.
 */
import { createHash } from 'node:crypto'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ed25519PublicKey, isEd25519SecretKey, randomEd25519SecretKey } from './ed25519.js'
import { InvalidArgumentError, UnavailableError } from './errors.js'
import { makeDir } from './make-dir.js'

export interface NodeIdentity {
  secretKey: Uint8Array
  publicKey: Uint8Array
  /** The key file. */
  path: string
  /** True when this call made the key (false: an existing one was loaded). */
  created: boolean
}

/** Whether `s` has the form of a flock node id ({@link nodeIdOf}): `n` and 16 lowercase hex digits. */
export function isNodeId(s: string): boolean {
  return /^n[0-9a-f]{16}$/.test(s)
}

/** The flock id of the node with Ed25519 public key `publicKey`: `n` and 16 hex digits of its SHA-256. */
export function nodeIdOf(publicKey: Uint8Array): string {
  return `n${createHash('sha256').update(publicKey).digest('hex').slice(0, 16)}`
}

/** The key file's text, or undefined when there is none; any other read failure is an error. */
function readKeyFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    // A key that is there but cannot be read is a failure to start (exit 1, CLI.md), not a usage error.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UnavailableError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

function decodeKey(path: string, text: string, suffix = ''): Uint8Array {
  const sk = new Uint8Array(Buffer.from(text.trim(), 'base64'))
  if (sk.length !== 32 || !isEd25519SecretKey(sk)) throw new InvalidArgumentError(`${path}: does not hold an Ed25519 secret key (32 bytes, base64)${suffix}`)
  return sk
}

/**
 * Loads the identity in `dataDir` without ever making one: for the CLI speaking for a node (a new
 * key would name no node, so every call would be refused). Leaves the file's mode alone, as the
 * caller may be another user allowed to read it.
 */
export function loadIdentity(dataDir: string): NodeIdentity {
  const path = join(dataDir, 'node.key')
  const text = readKeyFile(path)
  if (text === undefined) throw new InvalidArgumentError(`no node key in ${dataDir} (is it a fulcrum's data dir?)`)
  const sk = decodeKey(path, text)
  return { secretKey: sk, publicKey: ed25519PublicKey(sk), path, created: false }
}

/** Loads the identity in `dataDir`, making it on first use. A damaged key file is an error, never replaced. */
export function loadOrCreateIdentity(dataDir: string): NodeIdentity {
  const path = join(dataDir, 'node.key')
  const text = readKeyFile(path)
  if (text !== undefined) {
    const sk = decodeKey(path, text, '; refusing to replace it')
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600) // a key readable by others is tightened, not trusted less
    return { secretKey: sk, publicKey: ed25519PublicKey(sk), path, created: false }
  }
  try {
    makeDir(dataDir) // not mkdirSync's recursive: it spins forever under /proc
  } catch (err) {
    throw new InvalidArgumentError(`cannot use data dir ${dataDir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const sk = randomEd25519SecretKey()
  writeFileSync(path, Buffer.from(sk).toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
  return { secretKey: sk, publicKey: ed25519PublicKey(sk), path, created: true }
}
