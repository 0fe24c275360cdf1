/** `crux check TRACE`: the flock history checker over a simulator trace (CLI.md); exit 1 on any violation. */
import type { Command } from 'commander'
import { existsSync } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { int } from '../flags.js'

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check a simulator trace: one leader per connected flock once settled, members\' lists equal their leader\'s, epochs monotonic, agreement within a bound after the last fault')
    .argument('<TRACE>', 'journal written by crux sim --trace')
    .option('--settle-hb <H>', 'how long a second leader in one connected flock may live', int('--settle-hb', 1), 20)
    .option('--list-lag-hb <H>', 'how long a member may lag its leader\'s list', int('--list-lag-hb', 1), 10)
    .option('--heal-bound-hb <H>', 'agreement must follow the last fault within this many heartbeats', int('--heal-bound-hb', 1), 60)
    .option('--json', 'print {"marks","nodes","agreed","violations","diverged"} as one JSON document')
    .addHelpText('after', '\nExample:\n  crux sim --nodes 50 --partition 10:2:40 --trace /tmp/p.ndjson && crux check /tmp/p.ndjson')
    .action(async (trace: string, f: { settleHb: number; listLagHb: number; healBoundHb: number; json?: boolean }) => {
      if (!existsSync(trace)) throw new InvalidArgumentError(`no such trace: ${trace}`)
      const { checkTrace } = await import('../../actors/flock-trace-check.js')
      const r = checkTrace(trace, { settleHb: f.settleHb, listLagHb: f.listLagHb, healBoundHb: f.healBoundHb })
      if (f.json === true) process.stdout.write(JSON.stringify(r) + '\n')
      else {
        process.stdout.write(`${r.marks} heartbeats of ${r.nodes} node(s) checked: ${r.violations.length} violation(s)${r.diverged === false ? '' : `; replay DIVERGED at seq ${r.diverged.seq}`}\n`)
        for (const v of r.violations) process.stdout.write(`  ${v}\n`)
      }
      if (r.violations.length > 0 || r.diverged !== false) process.exitCode = 1
    })
}
