/** `crux names`, `crux members`, `crux admin reboot|candidate`: the flock from outside (CLI.md, Confab). */
import type { Command } from 'commander'
import { durationOption, target } from '../flags.js'

interface Common {
  target: string
  node?: string
  secretFile: string
  timeout: number
  json?: boolean
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--target <HOST:PORT>', 'any fulcrum of the flock', target('--target'))
    .requiredOption('--secret-file <F>', 'the flock secret')
    .addOption(durationOption('--timeout <DURATION>', 'how long to wait for the answer, with a unit: 500ms, 5s', { bare: 'refuse', min: 100, max: 120_000 }, 3000))
}

/** Loads the client only when a command runs: `crux --help` and the other commands never pay for it. */
async function ask(...args: Parameters<typeof import('../../actors/flock/confab-client.js').confab>) {
  const { confab } = await import('../../actors/flock/confab-client.js')
  return confab(...args)
}

async function secretOf(path: string): Promise<Uint8Array> {
  const { readSecretFile } = await import('../../runtime/secret.js')
  return readSecretFile(path)
}

export function registerConfab(program: Command): void {
  common(program.command('names'))
    .description('the flock as one fulcrum sees it: name, leader, member count, steward, registry, epoch')
    .option('--json', 'print {"flock","leader":{"id","addr"},"members","steward","registry","epoch"}')
    .addHelpText('after', '\nExample:\n  crux names --target 127.77.0.1:23123 --secret-file flock.secret --json')
    .action(async (f: Common) => {
      const [a] = await ask({ target: f.target, secret: await secretOf(f.secretFile), ask: 'names', timeoutMs: f.timeout })
      const out = {
        flock: a!.flock,
        leader: { id: a!.leader.id, addr: a!.leader.addr },
        members: a!.members,
        steward: a!.steward === '' ? null : a!.steward,
        registry: a!.registry === '' ? null : a!.registry,
        epoch: a!.epoch,
        node: a!.node,
        role: a!.role,
      }
      if (f.json === true) process.stdout.write(JSON.stringify(out) + '\n')
      else process.stdout.write(`flock ${out.flock}: ${out.members} members, leader ${out.leader.id} (${out.leader.addr}), epoch ${out.epoch}; asked ${out.node} (${out.role})\n`)
    })

  common(program.command('members'))
    .description('the full member list, as the asked fulcrum knows it')
    .option('--json', 'print {"flock","leader","members":[{"id","addr","horde","leader"}]}')
    .addHelpText('after', '\nExample:\n  crux members --target 127.77.0.1:23123 --secret-file flock.secret --json')
    .action(async (f: Common) => {
      const pages = await ask({ target: f.target, secret: await secretOf(f.secretFile), ask: 'members', timeoutMs: f.timeout })
      const first = pages[0]!
      const members = pages.flatMap((p) => p.entries).map((e) => ({ id: e.id, addr: e.addr, horde: e.horde, leader: e.id === first.leader.id }))
      if (f.json === true) process.stdout.write(JSON.stringify({ flock: first.flock, leader: first.leader.id, members }) + '\n')
      else {
        process.stdout.write(`flock ${first.flock}: ${members.length} members\n`)
        for (const m of members) process.stdout.write(`  ${m.leader ? '*' : ' '} ${m.id.padEnd(18)} ${m.addr}${m.horde === '' ? '' : `  horde ${m.horde}`}\n`)
      }
    })

  const admin = program.command('admin').description('admin commands to one fulcrum, by a holder of the secret')
  // An admin query names its node (a query captured for one node moves no other): by --node, or
  // learnt with a names query first.
  const nodeFlag = ['--node <ID>', "the target's node id (default: asked with a names query first)"] as const
  common(admin.command('reboot'))
    .option(...nodeFlag)
    .description('the fulcrum starts over after 3.2–4.8 heartbeats (a new flock name; it rejoins)')
    .addHelpText('after', '\nExample:\n  crux admin reboot --target 127.77.0.3:23123 --secret-file flock.secret')
    .action(async (f: Common) => {
      const [a] = await ask({ target: f.target, secret: await secretOf(f.secretFile), ask: 'reboot', node: f.node, timeoutMs: f.timeout })
      if (!a!.ok) throw new Error(`${f.target} is already rebooting`)
      process.stdout.write(`${a!.node} reboots\n`)
    })
  common(admin.command('candidate'))
    .option(...nodeFlag)
    .description('the fulcrum introduces itself to another address (joining two flocks that cannot probe each other)')
    .requiredOption('--introduce <HOST:PORT>', 'where to introduce it', target('--introduce'))
    .addHelpText('after', '\nExample:\n  crux admin candidate --target 127.77.0.3:23123 --introduce 127.78.0.1:23123 --secret-file flock.secret')
    .action(async (f: Common & { introduce: string }) => {
      const [a] = await ask({ target: f.target, secret: await secretOf(f.secretFile), ask: 'candidate', introduce: f.introduce, node: f.node, timeoutMs: f.timeout })
      if (!a!.ok) throw new Error(`${f.target} refused the introduction`)
      process.stdout.write(`${a!.node} introduced itself to ${f.introduce}\n`)
    })
}
