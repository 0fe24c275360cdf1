/**
 * `crux admin forget NODE_ID` (CLI.md, Confab's admin commands): a holder of the flock secret asks the
 * steward to drop a node's keys from its whitelist, e.g. a node retired or whose key leaked. The node's
 * calls to the steward are refused from then on; a node still running and holding the secret
 * registers again (that needs its key and the secret), so forget a node after stopping it.
 */
import type { Command } from 'commander'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { isNodeId } from '../../runtime/node-identity.js'
import { durationOption, target } from '../flags.js'

interface ForgetFlags {
  target: string
  secretFile: string
  timeout: number
  json?: boolean
}

const nodeId = (v: string): string => {
  if (!isNodeId(v)) throw new InvalidArgumentError(`NODE_ID must be a flock node id (n and 16 hex digits, as crux members lists), got ${JSON.stringify(v).slice(0, 80)}`)
  return v
}

/** Adds `forget` to `crux admin` (made here when the Confab commands are not loaded). */
export function registerForget(program: Command): void {
  const admin = program.commands.find((c) => c.name() === 'admin') ?? program.command('admin').description('admin commands to one fulcrum, by a holder of the secret')
  admin
    .command('forget')
    .description("the steward removes a node's keys from its whitelist: the node's calls are refused until it registers again")
    .argument('<NODE_ID>', 'the node (n and 16 hex digits)', nodeId)
    .requiredOption('--target <HOST:PORT>', "the steward's gRPC address (the leader's; `crux names` shows it as registry)", target('--target'))
    .requiredOption('--secret-file <F>', 'the flock secret')
    .addOption(durationOption('--timeout <DURATION>', 'how long to wait for each answer, with a unit: 500ms, 5s', { bare: 'refuse', min: 100, max: 120_000 }, 5000))
    .option('--json', 'print {"node","steward","term","removed":[KeyID]}')
    .addHelpText(
      'after',
      '\nThe request is sealed under the flock secret for the steward at --target, with a time and a nonce, so a copy\n' +
        'of it is refused. A node still running registers again at its next refused call (it holds its key and the\n' +
        'secret): forget a node after stopping it.\n' +
        '\nExample:\n  crux admin forget n0123456789abcdef --target 127.77.0.1:50059 --secret-file flock.secret',
    )
    .action(async (node: string, f: ForgetFlags) => {
      const { readSecretFile } = await import('../../runtime/secret.js')
      const { forgetNode } = await import('../../actors/strew/registry-client.js')
      const r = await forgetNode({ target: f.target, secret: readSecretFile(f.secretFile), node, timeoutMs: f.timeout })
      if (f.json === true) process.stdout.write(JSON.stringify({ node, steward: r.steward, term: r.term, removed: r.removed }) + '\n')
      else process.stdout.write(`steward ${r.steward} (term ${r.term}) forgot node ${node}: ${r.removed.length} key${r.removed.length === 1 ? '' : 's'} removed\n${r.removed.map((k) => `  ${k}\n`).join('')}`)
    })
}
