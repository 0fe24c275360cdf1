/**
 * The strew layer's identity strings (original-crux.md §3), parsed and formatted. Pure module.
 *
 * - NodeID  `/<bloc>/<horde>/<node>/<service>/<api>`: exactly five fields; names one service instance.
 * - NetID   `/<rev>/<principal>/net/<host>:<port>`: where a service revision of a node listens.
 * - KeyID   `/<rev>/<principal>/keys/<fingerprint>`: a node's public key for a service revision.
 *
 * In a NetID or KeyID the rev or principal may be `*` or empty, and so may the address or the
 * fingerprint: such an id is a query (`query: true`) that {@link matchesNetId} / {@link matchesKeyId}
 * match against concrete ids. Revs, service names and APIs follow the original's `goodID`: empty,
 * `self`, or an upper-case letter then letters, digits or `_` (Pastiche1_0). Fingerprints are 16 bytes
 * in colon hex (47 characters), as the original's MD5 ones were; crux takes them from SHA-256 of the
 * Ed25519 public key (runtime/strew-keys.ts).
 */

export interface NodeIdParts {
  bloc: string
  horde: string
  node: string
  service: string
  api: string
}

export interface NetIdParts {
  rev: string
  principal: string
  /** '' in a query that matches any address. */
  host: string
  port: number
  query: boolean
}

export interface KeyIdParts {
  rev: string
  principal: string
  /** '' in a query that matches any key. */
  fingerprint: string
  query: boolean
}

/** Why a string is not an id; thrown by the parsers. */
export class IdFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'IdFormatError'
  }
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/
const GOOD = /^(|self|[A-Z][A-Za-z0-9_]{0,63})$/
const PRINCIPAL = /^[A-Za-z0-9_-]{1,64}$/
const FINGERPRINT = /^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/
const wild = (s: string) => s === '*' || s === ''

/** True for a rev, service name or API the original's goodID accepts. */
export const goodId = (s: string): boolean => GOOD.test(s)

/** The service an API belongs to when not named: its name without the version (Http1 → Http, Pastiche1_0 → Pastiche). */
export function defaultService(api: string): string {
  const s = api.replace(/[\d_]+$/, '')
  return s !== '' && s !== 'self' && goodId(s) ? s : api
}

export function parseNodeId(s: string): NodeIdParts {
  const f = s.split('/')
  if (f.length !== 6 || f[0] !== '') throw new IdFormatError(`a NodeID is /bloc/horde/node/service/api, got ${JSON.stringify(s).slice(0, 200)}`)
  const [, bloc, horde, node, service, api] = f as [string, string, string, string, string, string]
  for (const [k, v] of [['bloc', bloc], ['horde', horde], ['node', node]] as const) if (!NAME.test(v)) throw new IdFormatError(`NodeID ${k} ${JSON.stringify(v)} must be 1–64 of letters, digits, '.', '_', '-'`)
  for (const [k, v] of [['service', service], ['api', api]] as const) if (!goodId(v)) throw new IdFormatError(`NodeID ${k} ${JSON.stringify(v)} must be empty, 'self', or an upper-case letter then letters, digits, '_'`)
  return { bloc, horde, node, service, api }
}

export const formatNodeId = (p: NodeIdParts): string => `/${p.bloc}/${p.horde}/${p.node}/${p.service}/${p.api}`

/** `/bloc/horde/node` of a NodeID: what another service of the same node is named under. Throws IdFormatError. */
export function nodeIdPrefixOf(nodeId: string): string {
  const p = parseNodeId(nodeId)
  return `/${p.bloc}/${p.horde}/${p.node}`
}

/** The node field of a NodeID, '' when it has none: for ids read back from a catalog, which a listing must not throw on. */
export const nodeOfNodeId = (nodeId: string): string => nodeId.split('/')[3] ?? ''

function revPrincipal(kind: string, rev: string, principal: string): boolean {
  let query = false
  if (wild(rev)) query = true
  else if (!goodId(rev)) throw new IdFormatError(`${kind} rev ${JSON.stringify(rev)} must be 'self', '*', empty, or an upper-case letter then letters, digits, '_'`)
  if (wild(principal)) query = true
  else if (!PRINCIPAL.test(principal)) throw new IdFormatError(`${kind} principal ${JSON.stringify(principal)} must be 1–64 of letters, digits, '_', '-'`)
  return query
}

export function parseNetId(s: string): NetIdParts {
  const f = s.split('/')
  if (f.length !== 5 || f[0] !== '' || f[3] !== 'net') throw new IdFormatError(`a NetID is /rev/principal/net/host:port, got ${JSON.stringify(s).slice(0, 200)}`)
  const [, rev, principal, , addr] = f as [string, string, string, string, string]
  let query = revPrincipal('NetID', rev, principal)
  if (wild(addr)) return { rev: rev === '*' ? '' : rev, principal: principal === '*' ? '' : principal, host: '', port: 0, query: true }
  const colon = addr.lastIndexOf(':')
  const host = addr.slice(0, colon)
  const port = Number(addr.slice(colon + 1))
  if (colon <= 0 || !/^[A-Za-z0-9.-]{1,96}$/.test(host) || !/^\d{1,5}$/.test(addr.slice(colon + 1)) || port < 1 || port > 65535) throw new IdFormatError(`NetID address ${JSON.stringify(addr)} must be host:port`)
  return { rev: rev === '*' ? '' : rev, principal: principal === '*' ? '' : principal, host, port, query }
}

export const formatNetId = (p: NetIdParts): string => `/${p.query && p.rev === '' ? '*' : p.rev}/${p.query && p.principal === '' ? '*' : p.principal}/net/${p.host === '' ? '*' : `${p.host}:${p.port}`}`

/** The address a NetID names (host:port). */
export const netIdAddress = (p: NetIdParts): string => `${p.host}:${p.port}`

export function parseKeyId(s: string): KeyIdParts {
  const f = s.split('/')
  if (f.length !== 5 || f[0] !== '' || f[3] !== 'keys') throw new IdFormatError(`a KeyID is /rev/principal/keys/fingerprint, got ${JSON.stringify(s).slice(0, 200)}`)
  const [, rev, principal, , fp] = f as [string, string, string, string, string]
  const query = revPrincipal('KeyID', rev, principal)
  if (wild(fp)) return { rev: rev === '*' ? '' : rev, principal: principal === '*' ? '' : principal, fingerprint: '', query: true }
  if (!FINGERPRINT.test(fp)) throw new IdFormatError(`KeyID fingerprint ${JSON.stringify(fp)} must be 16 bytes in colon hex (aa:bb:…, 47 characters)`)
  return { rev: rev === '*' ? '' : rev, principal: principal === '*' ? '' : principal, fingerprint: fp, query }
}

export const formatKeyId = (p: KeyIdParts): string => `/${p.query && p.rev === '' ? '*' : p.rev}/${p.query && p.principal === '' ? '*' : p.principal}/keys/${p.fingerprint === '' ? '*' : p.fingerprint}`

/** Whether concrete NetID `id` matches `query` (a query's empty fields match anything). */
export function matchesNetId(query: NetIdParts, id: NetIdParts): boolean {
  return (query.rev === '' || query.rev === id.rev) && (query.principal === '' || query.principal === id.principal) && (query.host === '' || (query.host === id.host && query.port === id.port))
}

/** Whether concrete KeyID `id` matches `query`. */
export function matchesKeyId(query: KeyIdParts, id: KeyIdParts): boolean {
  return (query.rev === '' || query.rev === id.rev) && (query.principal === '' || query.principal === id.principal) && (query.fingerprint === '' || query.fingerprint === id.fingerprint)
}
