/**
 * The addresses strew machines send to, in the road's forms: `<node>/<name>` (a local actor),
 * `grpc://HOST:PORT/<name>` (actor `<name>` of the fulcrum serving gRPC at HOST:PORT; the router
 * delivers it locally when that is this fulcrum), `port:<name>` (a port of the node's edge). Pure
 * module: string formatting only.
 */

/** The strew actors of one node. */
export type StrewActor = 'follower' | 'steward' | 'registry' | 'reeve' | 'heartbeater'

/** Local actor `name` of node `node`. */
export const actorOf = (node: string, name: StrewActor): string => `${node}/${name}`

/** Actor `name` of the fulcrum whose gRPC server is `hostPort`. */
export const grpcAt = (hostPort: string, name: StrewActor): string => `grpc://${hostPort}/${name}`

/** Where grpc.health.v1 statuses go. */
export const HEALTH_PORT = 'port:health'

/** The rev under which a node's reeve key is whitelisted (actors/registry-client.ts REEVE_REV). */
export const REEVE_REV = 'Reeve1_0'
