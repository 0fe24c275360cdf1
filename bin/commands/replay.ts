/** `crux replay TRACE`: re-run a journal through the machines and report the first divergence (CLI.md). */
import type { Command } from 'commander'
import { existsSync } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { durationOption, int } from '../flags.js'

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('replay a journal (crux sim --trace, crux fulcrum --trace) through the machines, bit for bit, and report the first divergence')
    .argument('[TRACE]', 'journal file (NDJSON)')
    .option('--moninfo <FILE>', "instead: rebuild the picture of flocks over time from a beacon's capture (crux beacon --out)")
    .addOption(durationOption('--stable <S>', 'with --moninfo: how long a flock must keep its leader and size: seconds, or a duration such as 500ms, 2m', { bare: 's', min: 100, max: 86_400_000 }, 15_000))
    .option('--until <SEQ>', 'stop after this seq', int('--until', 1))
    .option('--node <NODE>', 'replay only this node of a multi-node trace')
    .option('--explain <NODE>', 'instead of the summary: why NODE is or is not leader, and in its flock: every change of where it stands, with the rule and the packet or timer that caused it (NODE: a journal node name such as n3, or a node id)')
    .option('--json', 'print {"events","nodes","verified","diverged","final"} (with --explain: {"node","id","final","answer","transitions","suspicions"}) as one JSON document')
    .addHelpText('after', '\nExamples:\n  crux sim --nodes 20 --trace /tmp/run.ndjson && crux replay /tmp/run.ndjson --json\n  crux replay /tmp/run.ndjson --node n3 --until 5000\n  crux replay --moninfo crux-beacon.ndjson --stable 5')
    .action(async (trace: string | undefined, f: { until?: number; node?: string; json?: boolean; moninfo?: string; stable: number; explain?: string }) => {
      if (f.moninfo !== undefined) {
        if (trace !== undefined) throw new InvalidArgumentError('give either a TRACE or --moninfo FILE, not both')
        const { readCapture, replayCapture } = await import('../../actors/monitor/moninfo-replay.js')
        const { formatStatus } = await import('./monitor-format.js')
        const records = readCapture(f.moninfo)
        for (const view of replayCapture(records, f.stable)) process.stdout.write(f.json === true ? JSON.stringify(view) + '\n' : formatStatus(view) + '\n')
        return
      }
      if (trace === undefined) throw new InvalidArgumentError('missing TRACE (or --moninfo FILE)')
      if (!existsSync(trace)) throw new InvalidArgumentError(`no such journal: ${trace}`)
      if (f.explain !== undefined) {
        const { explain } = await import('../../actors/flock/explain.js')
        const { readLines } = await import('../../runtime/replayer.js')
        const e = explain(readLines(trace), f.explain)
        if (f.json === true) process.stdout.write(JSON.stringify(e) + '\n')
        else {
          const t0 = e.transitions[0]?.t ?? 0
          const where = (s: { role: string; flock: string; leader: string; members: number }) => `${s.role} in ${s.flock} (leader ${s.leader}, ${s.members})`
          process.stdout.write(`${e.answer}\n\nHow it got there (${e.transitions.length} change(s) of where ${e.node} stands):\n`)
          for (const x of e.transitions) process.stdout.write(`  seq ${x.seq}  +${((x.t - t0) / 1000).toFixed(3)} s  ${x.from === null ? 'start' : where(x.from)} → ${where(x.to)}\n      rule ${x.rule}: ${x.cause}\n`)
          if (e.suspicions.length > 0) {
            process.stdout.write(`\nSuspicions (${e.suspicions.length}):\n`)
            for (const x of e.suspicions) process.stdout.write(`  seq ${x.seq}  +${((x.t - t0) / 1000).toFixed(3)} s  ${x.rule}: ${x.what}\n`)
          }
          if (e.diverged !== false) process.stdout.write(`\nThe journal DIVERGED at seq ${e.diverged.seq}: the explanation stops there.\n`)
        }
        if (e.diverged !== false) process.exitCode = 1
        return
      }
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
