/**
 * `HOST:PORT` addresses of the UDP transport. IPv6 hosts are bracketed (`[::1]:7000`) so the last
 * colon always separates the port, as in URLs.
 */

/** A parsed address. */
export interface HostPort {
  host: string
  port: number
}

/** Formats `host` and `port` as this transport's address string. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * Parses `HOST:PORT` or `[HOST6]:PORT`; undefined when malformed. `allowZero` admits port 0, which
 * means "any free port" when binding and nothing when sending.
 */
export function parseHostPort(address: string, allowZero = false): HostPort | undefined {
  const colon = address.lastIndexOf(':')
  if (colon <= 0 || colon === address.length - 1) return undefined
  let host = address.slice(0, colon)
  const portText = address.slice(colon + 1)
  if (!/^\d{1,5}$/.test(portText)) return undefined
  const port = Number(portText)
  if (port > 65535 || (port === 0 && !allowZero)) return undefined
  if (host.startsWith('[')) {
    if (!host.endsWith(']') || host.length < 3) return undefined
    host = host.slice(1, -1)
  } else if (host.includes(':') || host.includes(']')) {
    return undefined // an unbracketed IPv6 host is ambiguous
  }
  return { host, port }
}
