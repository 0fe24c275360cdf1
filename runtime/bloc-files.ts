/**
 * The bloc CA on disk (CLI.md `crux keygen ca`, `crux keygen cert`; seed 002):
 * - a CA directory holds `ca.key` (Ed25519 secret, base64, mode 0600) and `ca.pub`;
 * - a node's data dir holds `node.cert` (runtime/node-cert.ts JSON) and `ca.pub`, the trust anchor,
 *   copied there when the certificate is issued ("preloaded onto the nodes before they boot").
 * A data dir with `node.cert` runs its fulcrum in bloc mode. Every problem is one InvalidArgumentError
 * naming the file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ed25519PublicKey, isEd25519SecretKey, randomEd25519SecretKey } from './ed25519.js'
import { InvalidArgumentError } from './errors.js'
import { makeDir } from './make-dir.js'
import { certFromJson, certProblem, certToJson, checkCertName, issueCert, type NodeCert } from './node-cert.js'
import type { NodeIdentity } from './node-identity.js'

function readKey(path: string, what: string): Uint8Array {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const k = new Uint8Array(Buffer.from(text.trim(), 'base64'))
  if (k.length !== 32) throw new InvalidArgumentError(`${path}: does not hold a ${what} (32 bytes, base64)`)
  return k
}

/** Makes a CA in `dir` (refusing to overwrite one); returns its public key. */
export function createCa(dir: string): { publicKey: Uint8Array; keyPath: string; pubPath: string } {
  const keyPath = join(dir, 'ca.key')
  const pubPath = join(dir, 'ca.pub')
  if (existsSync(keyPath)) throw new InvalidArgumentError(`${keyPath} exists; refusing to overwrite a CA key`)
  try {
    makeDir(dir) // not mkdirSync's recursive: it spins forever under /proc
  } catch (err) {
    throw new InvalidArgumentError(`cannot use CA dir ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const sk = randomEd25519SecretKey()
  const publicKey = ed25519PublicKey(sk)
  writeFileSync(keyPath, Buffer.from(sk).toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
  writeFileSync(pubPath, Buffer.from(publicKey).toString('base64') + '\n', { mode: 0o644 })
  return { publicKey, keyPath, pubPath }
}

/** The CA in `caDir` certifies `identity` for `bloc`; writes `node.cert` and `ca.pub` into `dataDir`. */
export function issueNodeCert(caDir: string, dataDir: string, identity: NodeIdentity, o: { bloc: string; name: string; days: number; nowMs: number }): { cert: NodeCert; path: string } {
  checkCertName('--bloc', o.bloc)
  checkCertName('--name', o.name)
  const caKey = readKey(join(caDir, 'ca.key'), 'CA key')
  if (!isEd25519SecretKey(caKey)) throw new InvalidArgumentError(`${join(caDir, 'ca.key')} does not hold an Ed25519 secret key`)
  const cert = issueCert(caKey, { publicKey: identity.publicKey, bloc: o.bloc, name: o.name, notAfterMs: o.nowMs + Math.round(o.days * 86_400_000) })
  caKey.fill(0)
  const path = join(dataDir, 'node.cert')
  writeFileSync(path, certToJson(cert), { mode: 0o644 })
  writeFileSync(join(dataDir, 'ca.pub'), Buffer.from(cert.issuer).toString('base64') + '\n', { mode: 0o644 })
  return { cert, path }
}

/**
 * The bloc a fulcrum runs in, from its data dir: undefined when there is no `node.cert` and no
 * `bloc` was asked for. A certificate that is not for this node's key, is not from the CA in
 * `ca.pub`, has expired, or names another bloc than `bloc` is an error: better not to start than to
 * start and be ignored by everyone.
 */
export function loadBloc(dataDir: string, identity: NodeIdentity, bloc: string | undefined, nowMs: number): { ca: Uint8Array; cert: NodeCert } | undefined {
  const certPath = join(dataDir, 'node.cert')
  if (!existsSync(certPath)) {
    if (bloc === undefined) return undefined
    throw new InvalidArgumentError(`--bloc ${bloc} needs a certificate: ${certPath} is missing (crux keygen cert --ca DIR --data-dir ${dataDir} --bloc ${bloc})`)
  }
  const cert = certFromJson(readFileSync(certPath, 'utf8'), certPath)
  const ca = readKey(join(dataDir, 'ca.pub'), 'CA public key')
  if (Buffer.compare(Buffer.from(cert.publicKey), Buffer.from(identity.publicKey)) !== 0) throw new InvalidArgumentError(`${certPath}: is for another node key than ${identity.path}`)
  const problem = certProblem(cert, ca, bloc ?? cert.bloc, nowMs)
  if (problem !== null) throw new InvalidArgumentError(`${certPath}: ${problem}`)
  return { ca, cert }
}
