/** The former module of the gRPC client (now runtime/peer-client.ts), kept while other code moves to it. */
export { createSignedClient, createPeerClient, type SignedClient, type PeerClient, type PeerClientInit, type MethodDef } from './peer-client.js'
