/** `crux sim`: the real flock machines on a virtual clock and a faulty virtual network (CLI.md). */
import type { Command } from 'commander'
import type { SimOptions } from '../../actors/sim/simulator.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { atFraction, delay, dropLink, durationOption, int, partition, prob } from '../flags.js'

interface Flags {
  nodes: number
  seed: number
  hb: number
  untilHb?: number
  probeDensity?: number
  seeded?: number
  loss: number
  dup: number
  reorder: number
  delay: number | [number, number]
  partition?: SimOptions['partition']
  reboot?: SimOptions['reboot']
  crash?: SimOptions['crash']
  dropLink?: SimOptions['dropLink']
  crashLeaderAt?: number
  crashMemberAt?: number
  skew: number
  trace?: string
  services?: number
  blobs?: number
  corruptPeers?: number
  run?: number
  place?: number
  listSync: boolean
  json?: boolean
  progress?: boolean
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('simulate N fulcrums running the real flock machines on a virtual clock and a seeded, faulty network')
    .requiredOption('--nodes <N>', 'number of nodes', int('--nodes', 1, 100_000))
    .option('--seed <S>', 'seed of everything random in the run', int('--seed', 0, 0xffffffff), 1)
    .addOption(durationOption('--hb <MS>', 'heartbeat period in virtual time: milliseconds, or a duration such as 250ms, 1s', { bare: 'ms', min: 10, max: 60_000 }, 1000))
    .option('--until-hb <H>', 'run exactly H heartbeats (default: until agreement has held 3 HB after the last fault; at most 60 HB after it, 400 in all)', int('--until-hb', 1, 100_000))
    .option('--probe-density <D>', 'chance a random probe slot hits a random node (default 0.1)', prob('--probe-density'))
    .option('--seeded <K>', 'give each node K seed addresses (random earlier nodes) instead of random probing', int('--seeded', 1, 1000))
    .option('--loss <P>', 'packet loss probability', prob('--loss'), 0)
    .option('--dup <P>', 'packet duplication probability', prob('--dup'), 0)
    .option('--reorder <P>', 'probability a packet is held back so later ones overtake it', prob('--reorder'), 0)
    .option('--delay <MS[-MS]>', 'one-way delay, fixed or a uniform range: milliseconds, or durations such as 2ms-20ms', delay('--delay'), [1, 5] as [number, number])
    .option('--partition <AT_HB:GROUPS:HEAL_HB>', 'split the nodes into GROUPS at AT_HB, heal at HEAL_HB', partition('--partition'))
    .option('--reboot <AT_HB:FRACTION>', 'reboot storm: each node reboots (admin Reboot) with this probability', atFraction('--reboot'))
    .option('--crash <AT_HB:FRACTION>', 'crash each node with this probability (never restarted)', atFraction('--crash'))
    .option('--crash-leader-at <HB>', 'crash whichever node leads at this heartbeat (never restarted)', int('--crash-leader-at', 1, 100_000))
    .option('--crash-member-at <HB>', 'crash one member at this heartbeat: the first node (by index) that does not lead', int('--crash-member-at', 1, 100_000))
    .option('--drop-link <AT_HB:A-B[:HEAL_HB]>', 'drop every packet between nodes nA and nB from AT_HB (until HEAL_HB)', dropLink('--drop-link'))
    .addOption(durationOption('--skew <MS>', 'per-node clock skew, uniform in ±MS (milliseconds, or a duration such as 2s)', { bare: 'ms', min: 0, max: 3_600_000 }, 0))
    .option('--services <K>', 'every node also runs its strew machines (follower, steward, registry, reeve, heartbeater) on a simulated gRPC, with K services that register with a 3 HB TTL and heartbeat every HB; adds the strew invariants and "strew" to the summary', int('--services', 0, 1000))
    .option('--blobs <B>', 'every node also runs the pastiche machine: B small blobs (seeded bytes) start on 2 nodes each and are wanted on 3 others, fetched in ranges over the simulated network; adds the pastiche invariants and "pastiche" to the summary', int('--blobs', 0, 10_000))
    .option('--corrupt-peers <K>', 'with --blobs: K nodes (drawn from the seed) flip a byte of every range they serve', int('--corrupt-peers', 0, 100_000))
    .option('--run <R>', 'with --services: every node also runs the picket machine with R services, started at drawn heartbeats on a simulated run edge; some crash, some hang (and are killed), at least one fails its bundle; adds the picket invariants and "picket" to the summary (exit 1 on a picket violation)', int('--run', 0, 1000))
    .option('--place <P>', 'with --services and --run: every node also runs its dean and proctor, and at an early heartbeat a khan program placing P services (2 or 3 instances each, on bundles every node runs) is applied at the leader; adds the placement invariants and "placement" to the summary (exit 1 on a placement violation)', int('--place', 0, 100))
    .option('--no-list-sync', 'members do not copy the member list (only the leader holds it, as in the original): for N where N² entries do not fit one process')
    .option('--trace <FILE>', 'write the journal of every node (NDJSON, docs/TRACE-FORMAT.md) and report its sha256')
    .option('--progress', 'print one line per heartbeat on stderr')
    .option('--json', 'print the summary as one JSON document')
    .addHelpText('after', '\nExamples:\n  crux sim --nodes 100 --seed 7 --json\n  crux sim --nodes 50 --loss 0.1 --partition 10:2:30 --trace /tmp/run.ndjson\n  crux sim --nodes 100 --services 3 --until-hb 100 --json\n  crux sim --nodes 10 --services 2 --blobs 8 --corrupt-peers 1 --json\n  crux sim --nodes 10 --services 2 --run 3 --json\n  crux sim --nodes 8 --services 1 --run 1 --place 2 --crash 20:0.25 --until-hb 60 --json')
    .action(async (f: Flags) => {
      if (f.probeDensity !== undefined && f.seeded !== undefined) throw new InvalidArgumentError('--probe-density and --seeded are alternatives; give one')
      if (f.corruptPeers !== undefined && (f.blobs ?? 0) === 0) throw new InvalidArgumentError('--corrupt-peers needs --blobs')
      if ((f.run ?? 0) > 0 && (f.services ?? 0) === 0) throw new InvalidArgumentError('--run needs --services (picket registers its services with the reeve and beats through the heartbeater)')
      if ((f.place ?? 0) > 0 && ((f.services ?? 0) === 0 || (f.run ?? 0) === 0)) throw new InvalidArgumentError('--place needs --services and --run (the dean drives picket, the proctor reads the musters in the catalog)')
      const { runSim } = await import('../../actors/sim/simulator.js')
      const { picketLine } = await import('../../actors/sim/picket-check.js')
      const { placementLine } = await import('../../actors/sim/placement-check.js')
      const summary = await runSim({
        nodes: f.nodes,
        seed: f.seed,
        hbMs: f.hb,
        untilHb: f.untilHb,
        probeDensity: f.probeDensity,
        seeded: f.seeded,
        loss: f.loss,
        dup: f.dup,
        reorder: f.reorder,
        delay: f.delay,
        partition: f.partition,
        reboot: f.reboot,
        crash: f.crash,
        dropLink: f.dropLink,
        crashLeaderAtHb: f.crashLeaderAt,
        crashMemberAtHb: f.crashMemberAt,
        skewMs: f.skew,
        trace: f.trace,
        services: f.services,
        blobs: f.blobs,
        corruptPeers: f.corruptPeers,
        run: f.run,
        place: f.place,
        config: f.listSync ? undefined : { listSync: false },
        onHb: f.progress === true ? (hb, o) => process.stderr.write(`hb ${hb}: live=${o.live} flocks=${o.flocks} leaders=${o.leaders} lists=${o.lists} smallest_list=${o.smallestList} agreed=${o.agreed}\n`) : undefined,
      })
      if (f.json === true) process.stdout.write(JSON.stringify(summary) + '\n')
      else {
        process.stdout.write(
          `${summary.nodes} nodes, seed ${summary.seed}: ${summary.agreed ? `agreed at HB ${summary.agreed_hb}` : 'NOT agreed'}` +
            ` (${summary.flocks} flock(s), ${summary.leaders} leader(s)); ${summary.packets} packets, ${summary.sim_s} s simulated in ${summary.wall_s} s` +
            (summary.trace_sha256 === null ? '' : `; trace sha256 ${summary.trace_sha256}`) +
            '\n',
        )
        const s = summary.strew
        if (s !== undefined) {
          process.stdout.write(`strew: ${s.services} services, visible within ${s.visible_hb_max} HB, retired within ${s.retired_hb_max} HB; ${s.violations.length} violation(s)\n`)
          for (const v of s.violations.slice(0, 10)) process.stdout.write(`  ${v}\n`)
        }
        const p = summary.pastiche
        if (p !== undefined) {
          process.stdout.write(`pastiche: ${p.blobs} blobs, ${p.wanted} holdings, ${p.fetched} fetched, ${p.bad_ranges} bad range(s), each holding held within ${p.done_hb_max} HB; ${p.violations.length} violation(s)\n`)
          for (const v of p.violations.slice(0, 10)) process.stdout.write(`  ${v}\n`)
        }
        const k = summary.picket
        if (k !== undefined) {
          process.stdout.write(`${picketLine(k)}\n`)
          for (const v of k.violations.slice(0, 10)) process.stdout.write(`  ${v}\n`)
        }
        const pl = summary.placement
        if (pl !== undefined) {
          process.stdout.write(`${placementLine(pl)}\n`)
          for (const v of pl.violations.slice(0, 10)) process.stdout.write(`  ${v}\n`)
        }
      }
      if (!summary.agreed || (summary.picket?.violations.length ?? 0) > 0 || (summary.placement?.violations.length ?? 0) > 0) process.exitCode = 1
    })
}
