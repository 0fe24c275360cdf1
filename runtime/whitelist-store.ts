/**
 * The whitelist (original-crux.md §4.1's PubKeys bucket): KeyID → Ed25519 public key, kept in the
 * node's store (runtime/store.ts: one JSON file, written atomically, so a kill -9 mid-write leaves the
 * old version or the new one, never half of either) and loaded again on restart.
 */
import { InvalidArgumentError } from './errors.js'
import type { FileStore } from './store.js'

const ACTOR = 'strew'
const KEY = 'whitelist'

export class FileWhitelist {
  private readonly keys = new Map<string, Uint8Array>()

  constructor(private readonly store: Pick<FileStore, 'get' | 'put'>) {
    const saved = store.get(ACTOR, KEY)
    if (saved === undefined) return
    if (!Array.isArray(saved)) throw new InvalidArgumentError('the stored whitelist is not a list')
    for (const entry of saved) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') throw new InvalidArgumentError('the stored whitelist has a malformed entry')
      const key = new Uint8Array(Buffer.from(entry[1], 'base64'))
      if (key.length !== 32) throw new InvalidArgumentError(`the stored whitelist key for ${entry[0]} is not 32 bytes`)
      this.keys.set(entry[0], key)
    }
  }

  get(keyId: string): Uint8Array | undefined {
    return this.keys.get(keyId)
  }

  add(keyId: string, publicKey: Uint8Array): void {
    this.keys.set(keyId, publicKey.slice())
    this.save()
  }

  remove(keyId: string): boolean {
    const had = this.keys.delete(keyId)
    if (had) this.save()
    return had
  }

  get size(): number {
    return this.keys.size
  }

  private save(): void {
    this.store.put(ACTOR, KEY, [...this.keys].map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
  }
}
