/** `crux check TRACE`: the flock history checker over a simulator trace (CLI.md); exit 1 on any violation. */
import type { Command } from 'commander'
import type { CheckBounds } from '../../actors/sim/check.js'
import { existsSync } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { int } from '../flags.js'

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check a simulator trace: one leader per connected flock once settled, members\' lists equal their leader\'s, epochs monotonic, agreement within a bound after the last fault, one flock per connected group, no live reachable member removed, and (for runs given --until-hb) agreement kept to the end')
    .argument('<TRACE>', 'journal written by crux sim --trace')
    .option('--settle-hb <H>', 'how long a second leader in one connected flock may live', int('--settle-hb', 1), 20)
    .option('--list-lag-hb <H>', 'how long a member may lag its leader\'s list', int('--list-lag-hb', 1), 10)
    .option('--heal-bound-hb <H>', 'agreement must follow the last fault within this many heartbeats', int('--heal-bound-hb', 1), 60)
    .option('--one-flock-hb <H>', 'one flock per connected group within this many heartbeats of the start or the last fault', int('--one-flock-hb', 1), 40)
    .option('--fault-grace-hb <H>', 'a fault touching a member or its leader excuses its removal for this many heartbeats', int('--fault-grace-hb', 0), 10)
    .option('--steady-hb <H>', 'in a run given --until-hb, agreement may lapse this many heartbeats in a row', int('--steady-hb', 0), 3)
    .option('--json', 'print {"marks","nodes","agreed","steady","violations","violation_kinds","diverged"} (and "strew" for a run with --services, "picket" for one with --run, "placement" for one with --place) as one JSON document')
    .addHelpText('after', '\nExample:\n  crux sim --nodes 50 --partition 10:2:40 --trace /tmp/p.ndjson && crux check /tmp/p.ndjson')
    .action(async (trace: string, f: CheckBounds & { json?: boolean }) => {
      if (!existsSync(trace)) throw new InvalidArgumentError(`no such trace: ${trace}`)
      const { checkTrace } = await import('../../actors/sim/trace-check.js')
      const { picketLine } = await import('../../actors/sim/picket-check.js')
      const { placementLine } = await import('../../actors/sim/placement-check.js')
      const { settleHb, listLagHb, healBoundHb, oneFlockHb, faultGraceHb, steadyHb } = f
      const r = checkTrace(trace, { settleHb, listLagHb, healBoundHb, oneFlockHb, faultGraceHb, steadyHb })
      if (f.json === true) process.stdout.write(JSON.stringify(r) + '\n')
      else {
        process.stdout.write(`${r.marks} heartbeats of ${r.nodes} node(s) checked: ${r.violations.length} violation(s)${r.diverged === false ? '' : `; replay DIVERGED at seq ${r.diverged.seq}`}\n`)
        // A trace of a run with services: the strew figures, as `crux sim` prints them.
        const s = r.strew
        if (s !== undefined) process.stdout.write(`strew: ${s.services} services, visible within ${s.visible_hb_max} HB, retired within ${s.retired_hb_max} HB; ${s.violations.length} violation(s)\n`)
        if (r.picket !== undefined) process.stdout.write(`${picketLine(r.picket)}\n`)
        if (r.placement !== undefined) process.stdout.write(`${placementLine(r.placement)}\n`)
        for (const v of r.violations) process.stdout.write(`  ${v}\n`)
      }
      if (r.violations.length > 0 || r.diverged !== false) process.exitCode = 1
    })
}
