/**
 * Who may call a node's PasticheService: its own key (the CLI and services holding the node's data
 * dir, and the node itself), and the reeve key of every current member of its flock (a peer fetching
 * a blob). A member's KeyID is admitted by what the channel's key makes: the KeyID must be
 * `/Reeve1_0/<node>/keys/<fingerprint>` where `<node>` is the node id that key makes and is in the
 * member list, and the fingerprint is that key's. So a key the flock CA certified but that no member
 * holds (another data dir, a node that left) is refused, and nothing has to be stored per peer.
 *
 * Some methods change what the node keeps or make it dial out (Pin, Unpin, Gc, Fetch): only the node's
 * own key may call those (service.ts `own`). Want and Unwant are open to members: a holding on node N
 * may be given from any node of the flock (`crux pastiche want --node N`).
 */
import { keyIdOf } from '../strew/registration.js'
import { REEVE_REV } from '../strew/registry-client.js'
import { nodeIdOf } from '../../runtime/node-identity.js'
import type { KeyLookup } from '../../runtime/grpc-server.js'

export interface PasticheTrust {
  /** The KeyID the node's own key speaks as. */
  readonly ownKeyId: string
  /** The whitelist handed to the server for this service. */
  readonly lookup: KeyLookup
}

/** `members()`: the node ids of the flock's current members (this node's copy of the list). */
export function pasticheTrust(publicKey: Uint8Array, members: () => Readonly<Record<string, unknown>>): PasticheTrust {
  const ownKeyId = keyIdOf(REEVE_REV, nodeIdOf(publicKey), publicKey)
  return {
    ownKeyId,
    lookup(keyId, channelKey) {
      if (keyId === ownKeyId) return publicKey
      const node = nodeIdOf(channelKey)
      // The only KeyID a member's key may name is the one it makes; any other is not on this list.
      if (keyId !== keyIdOf(REEVE_REV, node, channelKey)) return undefined
      return Object.hasOwn(members(), node) ? channelKey : undefined
    },
  }
}
