/**
 * V8 settings for the one long-lived command, `crux fulcrum`, applied when this module is evaluated:
 * bin/crux.ts imports it first, so they are in force before any other module is compiled or run.
 *
 * Why: a fulcrum starting in a flock spends a burst of work (module start-up, handshakes with every
 * peer, the reeve's registration) in code that then runs a few times a heartbeat. With V8's default
 * tier-up budget TurboFan optimises much of that burst code on background threads: CPU during the
 * join and megabytes of optimised code and compiler memory that stay resident (the peak RSS
 * `bench/converge.sh` reports). A budget 15× the default (67 584) leaves one-off code in the
 * interpreter and baseline tiers; code that stays hot under load (the packet ciphers) is still
 * optimised, only later (one 300-byte seal, node 20 here: the first 5 000 take 48 → 64 µs each, warm
 * ones 15 → 16 µs). Measured on 20 fulcrums started as bench/converge.ts starts them (HB 500 ms),
 * the minified bundle without and with this flag: peak RSS per fulcrum, median 64.4 → 61.3–62.1 MB,
 * max 71.2 → 69.1–70.1 (one run without, two with).
 */
import { setFlagsFromString } from 'node:v8'

/** The V8 flags `crux COMMAND …` runs with (none for short-lived commands). */
export function v8FlagsFor(command: string | undefined): string[] {
  return command === 'fulcrum' ? ['--interrupt-budget=1000000'] : []
}

for (const flag of v8FlagsFor(process.argv[2])) setFlagsFromString(flag)
