/** `crux replay TRACE`: re-run a journal through the machines and report the first divergence (CLI.md). */
import type { Command } from 'commander'
import { existsSync } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { float, int } from '../flags.js'

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('replay a journal (crux sim --trace, crux fulcrum --trace) through the machines, bit for bit, and report the first divergence')
    .argument('[TRACE]', 'journal file (NDJSON)')
    .option('--moninfo <FILE>', "instead: rebuild the picture of flocks over time from a beacon's capture (crux beacon --out)")
    .option('--stable <S>', 'with --moninfo: seconds a flock must keep its leader and size', float('--stable', 0.1, 86_400), 15)
    .option('--until <SEQ>', 'stop after this seq', int('--until', 1))
    .option('--node <NODE>', 'replay only this node of a multi-node trace')
    .option('--json', 'print {"events","nodes","verified","diverged","final"} as one JSON document')
    .addHelpText('after', '\nExamples:\n  crux sim --nodes 20 --trace /tmp/run.ndjson && crux replay /tmp/run.ndjson --json\n  crux replay /tmp/run.ndjson --node n3 --until 5000\n  crux replay --moninfo crux-beacon.ndjson --stable 5')
    .action(async (trace: string | undefined, f: { until?: number; node?: string; json?: boolean; moninfo?: string; stable: number }) => {
      if (f.moninfo !== undefined) {
        if (trace !== undefined) throw new InvalidArgumentError('give either a TRACE or --moninfo FILE, not both')
        const { readCapture, replayCapture } = await import('../../actors/moninfo-replay.js')
        const { formatStatus } = await import('./monitor-format.js')
        const records = readCapture(f.moninfo)
        for (const view of replayCapture(records, f.stable * 1000)) process.stdout.write(f.json === true ? JSON.stringify(view) + '\n' : formatStatus(view) + '\n')
        return
      }
      if (trace === undefined) throw new InvalidArgumentError('missing TRACE (or --moninfo FILE)')
      if (!existsSync(trace)) throw new InvalidArgumentError(`no such journal: ${trace}`)
      const { productMachines } = await import('../../machines/index.js')
      const { readLines, replayJournal } = await import('../../runtime/replayer.js')
      const r = replayJournal(readLines(trace), { machines: productMachines, node: f.node, until: f.until })
      const out = { events: r.events, nodes: r.nodes, verified: r.verified, diverged: r.diverged, final: r.final }
      if (f.json === true) process.stdout.write(JSON.stringify(out) + '\n')
      else {
        process.stdout.write(
          r.diverged === false
            ? `${r.events} inputs replayed over ${r.nodes} node(s); ${r.verified} steps verified; no divergence\n`
            : `DIVERGED at seq ${r.diverged.seq} (${r.diverged.actor}):\n  expected ${JSON.stringify(r.diverged.expected)}\n  got      ${JSON.stringify(r.diverged.got)}\n`,
        )
      }
      if (r.diverged !== false) process.exitCode = 1
    })
}
