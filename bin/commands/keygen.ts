/** `crux keygen secret [--out FILE]`, `crux keygen node --data-dir DIR`: the flock's secret and a node's identity (CLI.md). */
import type { Command } from 'commander'
import { existsSync, writeFileSync } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { float } from '../flags.js'
import { generateSecret } from '../../runtime/secret.js'

export function registerKeygen(program: Command): void {
  const keygen = program.command('keygen').description('make keys: the flock secret, a node identity, a bloc CA and node certificates')
  keygen
    .command('secret')
    .description('32 random bytes, base64: the secondary key every member and admin of a flock shares')
    .option('--out <FILE>', 'write it to FILE (mode 0600, refused if FILE exists) instead of stdout')
    .addHelpText('after', '\nExample:\n  crux keygen secret --out flock.secret')
    .action((f: { out?: string }) => {
      const secret = generateSecret() + '\n'
      if (f.out === undefined) {
        process.stdout.write(secret)
        return
      }
      if (existsSync(f.out)) throw new InvalidArgumentError(`${f.out} exists; refusing to overwrite a flock secret`)
      writeFileSync(f.out, secret, { mode: 0o600, flag: 'wx' })
      process.stdout.write(`${f.out}\n`)
    })
  keygen
    .command('node')
    .description("the node's Ed25519 identity, kept in the data dir (mode 0600); made once, then reused; prints the public key")
    .requiredOption('--data-dir <DIR>', 'the node data dir')
    .option('--json', 'print {"publicKey":base64,"path":str,"created":bool}')
    .addHelpText('after', '\nExample:\n  crux keygen node --data-dir /var/lib/crux')
    .action(async (f: { dataDir: string; json?: boolean }) => {
      const { loadOrCreateIdentity } = await import('../../runtime/node-identity.js')
      const id = loadOrCreateIdentity(f.dataDir)
      const publicKey = Buffer.from(id.publicKey).toString('base64')
      if (f.json === true) process.stdout.write(JSON.stringify({ publicKey, path: id.path, created: id.created }) + '\n')
      else process.stdout.write(`${publicKey}\n`)
    })
  keygen
    .command('ca')
    .description('a bloc certificate authority: ca.key (mode 0600) and ca.pub in DIR; refuses to overwrite one')
    .requiredOption('--out <DIR>', 'the CA directory')
    .option('--json', 'print {"publicKey":base64,"key":path,"pub":path}')
    .addHelpText('after', '\nExample:\n  crux keygen ca --out ./bloc-ca')
    .action(async (f: { out: string; json?: boolean }) => {
      const { createCa } = await import('../../runtime/bloc-files.js')
      const ca = createCa(f.out)
      const publicKey = Buffer.from(ca.publicKey).toString('base64')
      if (f.json === true) process.stdout.write(JSON.stringify({ publicKey, key: ca.keyPath, pub: ca.pubPath }) + '\n')
      else process.stdout.write(`${publicKey}\n`)
    })
  keygen
    .command('cert')
    .description("the CA certifies a node's identity for a bloc: writes node.cert and ca.pub into the data dir (making the node key if needed); a fulcrum with a node.cert talks only to nodes certified by the same CA for the same bloc")
    .requiredOption('--ca <DIR>', 'the CA directory (crux keygen ca)')
    .requiredOption('--data-dir <DIR>', 'the node data dir')
    .requiredOption('--bloc <NAME>', 'the bloc name')
    .option('--name <NAME>', "the node's name in the certificate (default: its node id, derived from its key)")
    .option('--days <N>', 'validity in days', float('--days', 0.001, 36_500), 365)
    .option('--json', 'print {"path":str,"bloc":str,"name":str,"notAfter":iso,"publicKey":base64}')
    .addHelpText('after', '\nExample:\n  crux keygen cert --ca ./bloc-ca --data-dir /var/lib/crux --bloc blue')
    .action(async (f: { ca: string; dataDir: string; bloc: string; name?: string; days: number; json?: boolean }) => {
      const { issueNodeCert } = await import('../../runtime/bloc-files.js')
      const { loadOrCreateIdentity } = await import('../../runtime/node-identity.js')
      const identity = loadOrCreateIdentity(f.dataDir)
      const { nodeIdOf } = await import('../../runtime/node-identity.js')
      const name = f.name ?? nodeIdOf(identity.publicKey)
      const { cert, path } = issueNodeCert(f.ca, f.dataDir, identity, { bloc: f.bloc, name, days: f.days, nowMs: Date.now() })
      const out = { path, bloc: cert.bloc, name: cert.name, notAfter: new Date(cert.notAfterMs).toISOString(), publicKey: Buffer.from(cert.publicKey).toString('base64') }
      process.stdout.write(f.json === true ? JSON.stringify(out) + '\n' : `${path} (bloc ${out.bloc}, valid until ${out.notAfter})\n`)
    })
}
