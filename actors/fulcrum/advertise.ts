/**
 * The addresses a fulcrum announces to peers (`--advertise`, `--grpc-advertise`): its flock self
 * address, and the gRPC address a leader names for its steward and registry. Peers store and use the
 * announced address, never a packet's source address. A wildcard listen (0.0.0.0, ::) cannot be
 * announced as is: without an advertise flag the host's one address that can be announced is picked,
 * and a host with none or several is refused with a line that says which flag to pass.
 */
import { isIP, isIPv6 } from 'node:net'
import { networkInterfaces } from 'node:os'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { formatHostPort } from '../../runtime/udp-address.js'

/** One entry of os.networkInterfaces() (the fields read here). */
export interface InterfaceAddress {
  address: string
  family: string | number
  internal: boolean
}

/** Interface name → its addresses, as os.networkInterfaces() gives them. */
export type InterfaceList = Record<string, InterfaceAddress[] | undefined>

/** Whether `host` binds every interface: it cannot be announced. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '' || /^0*:(0*:)*0*$/.test(host)
}

/** The host's IPv4 addresses a peer elsewhere could use: not loopback, not link-local (169.254/16). */
export function announceableAddresses(list: InterfaceList): string[] {
  const out = new Set<string>()
  for (const addrs of Object.values(list)) {
    for (const a of addrs ?? []) {
      const v4 = a.family === 'IPv4' || a.family === 4
      if (!v4 || a.internal || a.address.startsWith('127.') || a.address.startsWith('169.254.')) continue
      out.add(a.address)
    }
  }
  return [...out].sort()
}

/** What to announce for one bound address. */
export interface AdvertiseInput {
  /** The listen flag and the address it asked for, e.g. `--listen` and 0.0.0.0:23123. */
  listenFlag: string
  listen: { host: string; port: number }
  /** The advertise flag and its value, if given. */
  advertiseFlag: string
  advertise?: { host: string; port: number } | undefined
  /** For a wildcard listen without an advertise flag, announce this host before picking one (gRPC: the flock's announced host). */
  otherwise?: string | undefined
  interfaces?: () => InterfaceList
}

/**
 * The host to announce for `i`, known before anything binds (so a refusal comes first); the port is
 * added once bound ({@link announce}). Throws InvalidArgumentError when a wildcard listen leaves no
 * single address to announce.
 */
export function announceHost(i: AdvertiseInput): string {
  if (i.advertise !== undefined) {
    const given = formatHostPort(i.advertise.host, i.advertise.port)
    if (isWildcard(i.advertise.host)) throw new InvalidArgumentError(`${i.advertiseFlag} must be an address peers can reach, got ${given}`)
    // Peers match a node's answers by the address they come from, always an IP: a name never would.
    if (isIP(i.advertise.host) === 0) throw new InvalidArgumentError(`${i.advertiseFlag} must be an IP address (peers match answers by the address they come from), got ${given}`)
    return canonicalIp(i.advertise.host)
  }
  if (!isWildcard(i.listen.host)) return i.listen.host
  if (i.otherwise !== undefined) return i.otherwise
  const found = announceableAddresses((i.interfaces ?? networkInterfaces)() as InterfaceList)
  if (found.length === 1) return found[0]!
  const listen = `${i.listenFlag} ${formatHostPort(i.listen.host, i.listen.port)}`
  const why = found.length === 0 ? 'this host has no address to announce (only loopback or link-local)' : `this host has several addresses (${found.join(', ')})`
  throw new InvalidArgumentError(`${listen} needs ${i.advertiseFlag} HOST:PORT: ${why}`)
}

/** An IP as a socket reports it (`FD00:0::2` → `fd00::2`), so announced and source addresses compare equal. */
export function canonicalIp(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip
}

/** The announced HOST:PORT: `host` with the advertise flag's port, else the port actually bound. */
export function announce(host: string, advertise: { port: number } | undefined, boundPort: number): string {
  return formatHostPort(host, advertise?.port ?? boundPort)
}

/**
 * The gRPC host announced must be the flock host announced: a steward calls a reeve back only at the
 * host of the address the flock knows it by (machines/registry/rules.ts, docs/STREW.md). Another host would
 * give a node whose every registration is refused; it is refused at start instead.
 */
export function checkSameHost(flockHost: string, grpcHost: string): void {
  if (grpcHost === flockHost) return
  throw new InvalidArgumentError(`the gRPC host announced, ${grpcHost}, is not the flock host announced, ${flockHost}: stewards call a node back only at its flock host; serve or advertise gRPC there (--grpc-advertise ${flockHost}:PORT)`)
}
