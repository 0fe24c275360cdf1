/** `crux keygen secret [--out FILE]`, `crux keygen node --data-dir DIR`: the flock's secret and a node's identity (CLI.md). */
import type { Command } from 'commander'
import { existsSync, writeFileSync } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { generateSecret } from '../../runtime/secret.js'

export function registerKeygen(program: Command): void {
  const keygen = program.command('keygen').description('make keys: the flock secret, a node identity')
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
}
