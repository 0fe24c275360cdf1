/**
 * The whitelist (original-crux.md §4.1's PubKeys bucket): KeyID → Ed25519 public key, kept in the
 * node's store (runtime/store.ts: one JSON file, written atomically, so a kill -9 mid-write leaves the
 * old version or the new one, never half of either) and loaded again on restart.
 *
 * Every entry is a node's key under that node's name: the KeyID's principal is the node id made from
 * the key and its fingerprint the key's. Registration checks this before it adds a key; the loader
 * checks it again, because the file can be edited: an entry naming a key under another node's name
 * would let that key speak for the other node.
 */
import { join } from 'node:path'
import { parseKeyId } from '../../machines/strew/ids.js'
import { InvalidArgumentError, JournalError } from '../../runtime/errors.js'
import { nodeIdOf } from '../../runtime/node-identity.js'
import { fingerprintOf } from './registration.js'
import type { FileStore } from '../../runtime/store.js'

const ACTOR = 'strew'
const KEY = 'whitelist'

/** Why `keyId` may not name `publicKey`, or null when it may. */
export function misnamed(keyId: string, publicKey: Uint8Array): string | null {
  let id
  try {
    id = parseKeyId(keyId)
  } catch {
    return `${JSON.stringify(keyId).slice(0, 120)} is not a KeyID`
  }
  if (id.query) return `${keyId} is a query, not a KeyID`
  if (id.principal !== nodeIdOf(publicKey)) return `${keyId} names node ${id.principal}, but its key is node ${nodeIdOf(publicKey)}'s`
  if (id.fingerprint !== fingerprintOf(publicKey)) return `${keyId} does not carry its key's fingerprint`
  return null
}

/** The steward's whitelist, persisted in the node's store. */
export class FileWhitelist {
  private readonly keys = new Map<string, Uint8Array>()
  /** Where it lives, for errors. */
  readonly file: string

  constructor(private readonly store: Pick<FileStore, 'get' | 'put'> & { dir?: string }) {
    this.file = store.dir === undefined ? 'the stored whitelist' : join(store.dir, ACTOR, `${KEY}.json`)
    const saved = store.get(ACTOR, KEY)
    if (saved === undefined) return
    const bad = (why: string) => new JournalError(`whitelist ${this.file}: ${why}`)
    if (!Array.isArray(saved)) throw bad('not a list')
    for (const entry of saved) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') throw bad('a malformed entry')
      const key = new Uint8Array(Buffer.from(entry[1], 'base64'))
      if (key.length !== 32) throw bad(`the key for ${entry[0]} is not 32 bytes`)
      const why = misnamed(entry[0], key)
      if (why !== null) throw bad(why)
      this.keys.set(entry[0], key)
    }
  }

  get(keyId: string): Uint8Array | undefined {
    return this.keys.get(keyId)
  }

  /** Adds a key; the same key again writes nothing (a node registering again costs no fsync). */
  add(keyId: string, publicKey: Uint8Array): void {
    // Never write what the loader would refuse: the next start would not come up.
    const why = misnamed(keyId, publicKey)
    if (why !== null) throw new InvalidArgumentError(why)
    const had = this.keys.get(keyId)
    if (had !== undefined && Buffer.compare(Buffer.from(had), Buffer.from(publicKey)) === 0) return
    this.keys.set(keyId, publicKey.slice())
    this.save()
  }

  remove(keyId: string): boolean {
    const had = this.keys.delete(keyId)
    if (had) this.save()
    return had
  }

  /** Removes every key of node `node` (any rev) in one write; the KeyIDs removed. */
  forget(node: string): string[] {
    const gone = [...this.keys.keys()].filter((k) => parseKeyId(k).principal === node)
    for (const k of gone) this.keys.delete(k)
    if (gone.length > 0) this.save()
    return gone
  }

  get size(): number {
    return this.keys.size
  }

  /** The KeyIDs on the whitelist. */
  keyIds(): string[] {
    return [...this.keys.keys()]
  }

  /**
   * The registry machine's `persist` effects (`whitelist/<keyId>`: the base64 key, or null to remove),
   * as the host's store port takes them.
   */
  persist(key: string, value: unknown): void {
    if (!key.startsWith('whitelist/')) throw new InvalidArgumentError(`the whitelist keeps whitelist/<keyId> keys, not ${JSON.stringify(key)}`)
    const keyId = key.slice('whitelist/'.length)
    if (value === null) this.remove(keyId)
    else this.add(keyId, new Uint8Array(Buffer.from(String(value), 'base64')))
  }

  private save(): void {
    this.store.put(ACTOR, KEY, [...this.keys].map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
  }
}
