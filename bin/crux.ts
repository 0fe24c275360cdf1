#!/usr/bin/env node
/**
 * The one crux executable. Each subcommand lives in bin/commands/<name>.ts and only parses flags,
 * builds real or simulated ports and calls into actors/ and runtime/. Errors print one line
 * `crux: <what was wrong>` on stderr and exit 2 for usage errors, 1 for failures (CLI.md).
 */
import { Command, CommanderError } from 'commander'
import { packageInfo } from './package-info.js'
import { CruxError, Code } from '../runtime/errors.js'

type Register = (program: Command) => void

// The modules that register the commands, in help order. Each is imported only when needed: `crux
// NAME …` for a NAME listed in `registers` loads that module alone (a fulcrum does not load the demo,
// and with it child_process, nor the simulator's or the Confab client's flags); anything else —
// help, no command, a typo — loads them all, so help and commander's suggestions see every command.
const modules: Record<string, () => Promise<Register>> = {
  confab: async () => (await import('./commands/confab.js')).registerConfab,
  forget: async () => (await import('./commands/forget.js')).registerForget,
  demo: async () => (await import('./commands/demo.js')).registerDemo,
  fulcrum: async () => (await import('./commands/fulcrum.js')).registerFulcrum,
  monitor: async () => (await import('./commands/monitor.js')).registerMonitor,
  strew: async () => (await import('./commands/strew.js')).registerStrew,
  pastiche: async () => (await import('./commands/pastiche.js')).registerPastiche,
  picket: async () => (await import('./commands/picket.js')).registerPicket,
  khan: async () => (await import('./commands/khan.js')).registerKhan,
  placement: async () => (await import('./commands/placement.js')).registerPlacement,
  viz: async () => (await import('./commands/viz.js')).registerViz,
  keygen: async () => (await import('./commands/keygen.js')).registerKeygen,
  sim: async () => (await import('./commands/sim.js')).registerSim,
  replay: async () => (await import('./commands/replay.js')).registerReplay,
  check: async () => (await import('./commands/check.js')).registerCheck,
  version: async () => (await import('./commands/version.js')).registerVersion,
}
/** Top-level command name → the module(s) (keys of `modules`) that register it. */
const registers: Record<string, string | string[]> = { names: 'confab', members: 'confab', admin: ['confab', 'forget'], demo: 'demo', fulcrum: 'fulcrum', beacon: 'monitor', watch: 'monitor', dump: 'monitor', service: ['strew', 'picket'], registry: 'strew', pastiche: 'pastiche', khan: 'khan', placement: 'placement', viz: 'viz', keygen: 'keygen', sim: 'sim', replay: 'replay', check: 'check', version: 'version' }

/** The program with every command, or, given the command about to run, with that one alone. */
export async function buildProgram(command?: string): Promise<Command> {
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
  const only = command !== undefined && Object.hasOwn(registers, command) ? [registers[command]!].flat() : undefined
  const needed = only === undefined ? Object.values(modules) : only.map((m) => modules[m]!)
  for (const register of await Promise.all(needed.map((load) => load()))) register(program)
  program.addHelpText('after', '\nExamples:\n  crux sim --nodes 100 --json\n  crux version --json\n  crux help sim')
  return program
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv[0])
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
