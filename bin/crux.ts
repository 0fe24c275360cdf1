#!/usr/bin/env node
/**
 * The one crux executable. Each subcommand lives in bin/commands/<name>.ts and only parses flags,
 * builds real or simulated ports and calls into actors/ and runtime/. Errors print one line
 * `crux: <what was wrong>` on stderr and exit 2 for usage errors, 1 for failures (CLI.md).
 */
import { Command, CommanderError } from 'commander'
import { registerCheck } from './commands/check.js'
import { registerConfab } from './commands/confab.js'
import { registerDemo } from './commands/demo.js'
import { registerFulcrum } from './commands/fulcrum.js'
import { registerKeygen } from './commands/keygen.js'
import { registerReplay } from './commands/replay.js'
import { registerSim } from './commands/sim.js'
import { registerVersion } from './commands/version.js'
import { packageInfo } from './package-info.js'
import { CruxError, Code } from '../runtime/errors.js'

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('crux')
    .description(
      'A cluster runtime: fulcrums find each other over encrypted UDP and form one flock with one leader. ' +
        'Every subsystem is a pure XState machine on a recordable, replayable actor runtime.',
    )
    .version(packageInfo().version, '-V, --version', 'print the crux version')
    .exitOverride()
    .configureOutput({
      // One line, `crux: <what was wrong>`, as CLI.md promises (commander says `error: …`).
      outputError: (str, write) => write(`crux: ${str.replace(/^error: /, '').trim()} (see crux --help)\n`),
    })
  registerConfab(program)
  registerDemo(program)
  registerFulcrum(program)
  registerKeygen(program)
  registerSim(program)
  registerReplay(program)
  registerCheck(program)
  registerVersion(program)
  program.addHelpText('after', '\nExamples:\n  crux sim --nodes 100 --json\n  crux version --json\n  crux help sim')
  return program
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    // A command that ran but judged its result a failure (a divergence, no agreement) set exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : 2
    }
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`crux: ${message}\n`)
    return err instanceof CruxError && err.code === Code.INVALID_ARGUMENT ? 2 : 1
  }
}

// `crux … | head` closes our stdout early: that is the reader's choice, not an error to crash on.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  })
}

const code = await main(process.argv.slice(2))
process.exitCode = code
