#!/usr/bin/env bash
# Real fulcrums measured like ../shared/peers/serf-converge.sh measures Serf (see bench/converge.ts).
# Prints one line last, for run-all.sh's EXTRA_CMDS:
#   crux like=serf N=.. profile=hb<ms> converge_s=.. converge_last_ready_s=.. detect_s=.. leave_s=.. rss_mb_median=.. idle_cpu_pct_per_agent=.. …
#   detect_member_s=.. detect_seed_s=.. reflock_seed_s=.. detect_leader_s=.. reflock_leader_s=.. seed_was_leader=..
# (the last phases need N ≥ 7; see bench/converge.ts)
# Usage: bench/converge.sh N [HB_MS] [CRUX]   (from the repository root, after npm ci; CRUX: another
# build's dist/bin/crux.bundle.mjs, run by this harness, to compare two builds)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5}
hb=${2:-500}
crux=()
if [ -n "${3:-}" ]; then crux=(--crux "$3"); fi
json=$(node --max-semi-space-size=16 dist/bench/run.js converge --nodes "$n" --hb "$hb" "${crux[@]}")
echo "$json"
node -e '
const r = JSON.parse(process.argv[1])
const keys = ["converge_s", "converge_last_ready_s", "last_ready_s", "detect_s", "leave_s", "rss_mb_median", "rss_mb_max", "idle_cpu_pct_per_agent", "idle_late_cpu_pct_per_agent", "launch_s", "ready_cpu_s_per_agent", "start_cpu_s_per_agent", "detect_hb", "detect_member_s", "detect_seed_s", "reflock_seed_s", "detect_leader_s", "reflock_leader_s", "seed_was_leader"]
console.log(`crux like=serf N=${r.nodes} profile=${r.profile} ` + keys.map((k) => `${k}=${r[k]}`).join(" "))
' "$json"
