/** `crux keygen secret [--out FILE]`: the flock's secondary key (CLI.md). Node identities come with sessions. */
import type { Command } from 'commander'
import { existsSync, writeFileSync } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { generateSecret } from '../../runtime/secret.js'

export function registerKeygen(program: Command): void {
  const keygen = program.command('keygen').description('make keys: the flock secret')
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
}
