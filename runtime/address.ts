/**
 * The addresses of the one road out: the `to` of a `send` effect says where a message goes, and this
 * module says how to read it. Pure (no imports with effects), so machines may import it.
 *
 * | form | kind | goes to |
 * |---|---|---|
 * | `<node>/<name>` | local | a local actor's mailbox |
 * | `grpc://HOST:PORT/<name>` | grpc | actor `<name>` of the node whose gRPC server is HOST:PORT |
 * | `reply:<n>` | reply | the pending inbound call n of this node |
 * | `port:<name>` | port | a port of the node's edge (e.g. `port:health`) |
 * | `HOST:PORT` | udp | a datagram to that address |
 *
 * Parsing is strict: a port is 1–65535 without leading zeros, an IPv6 host is bracketed
 * (`[::1]:5`), a host name is letters, digits, dots and dashes; anything else is not an address.
 */

/** A parsed address (see the table above). `hostPort` is canonical: the form {@link grpcAddress} writes. */
export type Address =
  | { kind: 'local'; actor: string }
  | { kind: 'grpc'; hostPort: string; name: string }
  | { kind: 'reply'; id: number }
  | { kind: 'port'; name: string }
  | { kind: 'udp'; hostPort: string }

const NAME = /^[A-Za-z0-9][A-Za-z0-9._~-]*$/
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/
const HOST_V6 = /^[0-9A-Fa-f:.]+$/
const PORT = /^[1-9][0-9]{0,4}$/
const REPLY = /^[1-9][0-9]{0,15}$/
const GRPC = 'grpc://'

/** `HOST:PORT` or `[HOST6]:PORT` in canonical form, or undefined when it is not one. */
export function parseHostPortStrict(text: string): string | undefined {
  const colon = text.lastIndexOf(':')
  if (colon <= 0) return undefined
  const portText = text.slice(colon + 1)
  if (!PORT.test(portText) || Number(portText) > 65535) return undefined
  const host = text.slice(0, colon)
  if (host.startsWith('[')) {
    const inner = host.slice(1, -1)
    if (!host.endsWith(']') || !inner.includes(':') || !HOST_V6.test(inner)) return undefined
    return `[${inner.toLowerCase()}]:${portText}`
  }
  if (!HOST_NAME.test(host) || host.length > 253) return undefined
  return `${host}:${portText}`
}

/** The address of actor `name` of the node whose gRPC server is `hostPort`: `grpc://HOST:PORT/name`. */
export function grpcAddress(hostPort: string, name: string): string {
  const hp = parseHostPortStrict(hostPort)
  if (hp === undefined) throw new TypeError(`not a HOST:PORT: ${JSON.stringify(hostPort)}`)
  if (!NAME.test(name)) throw new TypeError(`not an actor name: ${JSON.stringify(name)}`)
  return `${GRPC}${hp}/${name}`
}

/** The address of pending inbound call `id`: `reply:<id>`. */
export function replyAddress(id: number): string {
  return `reply:${id}`
}

/** The address of the edge port `name`: `port:<name>`. */
export function portAddress(name: string): string {
  return `port:${name}`
}

/** Reads an address; undefined when `to` is none of the forms (the router drops it as unparseable). */
export function parseAddress(to: string): Address | undefined {
  if (typeof to !== 'string' || to.length === 0 || to.length > 1024) return undefined
  if (to.startsWith(GRPC)) {
    const rest = to.slice(GRPC.length)
    const slash = rest.indexOf('/')
    if (slash < 0) return undefined
    const hostPort = parseHostPortStrict(rest.slice(0, slash))
    const name = rest.slice(slash + 1)
    return hostPort !== undefined && NAME.test(name) ? { kind: 'grpc', hostPort, name } : undefined
  }
  if (to.startsWith('reply:')) {
    const n = to.slice(6)
    return REPLY.test(n) && Number.isSafeInteger(Number(n)) ? { kind: 'reply', id: Number(n) } : undefined
  }
  if (to.startsWith('port:')) {
    const name = to.slice(5)
    return NAME.test(name) ? { kind: 'port', name } : undefined
  }
  const slash = to.indexOf('/')
  if (slash >= 0) {
    const node = to.slice(0, slash)
    const name = to.slice(slash + 1)
    return NAME.test(node) && NAME.test(name) ? { kind: 'local', actor: to } : undefined
  }
  const hostPort = parseHostPortStrict(to)
  return hostPort === undefined ? undefined : { kind: 'udp', hostPort }
}
