#!/usr/bin/env bash
# The strew layer measured like ../shared/peers/etcd-bench.sh measures etcd (see bench/strew.ts).
# Prints one line last, for run-all.sh's EXTRA_CMDS:
#   crux like=etcd keys=.. conc=.. ttl_s=.. put_seq_ops=.. put_conc_ops=.. get_seq_ops=.. get_conc_ops=.. lease_register_ops=.. lease_overshoot_max_s=.. ...
# Usage: bench/strew-etcd.sh [KEYS] [CONC] [LEASES] [TTL]   (from the repository root, after npm ci)
# Environment: STREW_IP, the loopback address of the fulcrum (default 127.77.90.1; UDP 23123, gRPC
# 50059, metrics 23124); STREW_NODE_FLAGS, Node flags for the fulcrum's process only (default: the
# deploy files' NODE_OPTIONS, see bench/strew.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
json=$(node dist/bench/run.js strew --keys "${1:-10000}" --conc "${2:-64}" --leases "${3:-1000}" --ttl "${4:-5}" --ip "${STREW_IP:-127.77.90.1}" ${STREW_NODE_FLAGS+--node-flags "$STREW_NODE_FLAGS"})
echo "$json"
node -e '
const r = JSON.parse(process.argv[1])
const keys = ["put_seq_ops", "put_seq_p50_ms", "put_seq_p99_ms", "put_conc_ops", "put_conc_p99_ms", "get_seq_ops", "get_conc_ops", "range_all_ms", "lease_register_ops", "lease_expire_last_s", "lease_overshoot_p50_s", "lease_overshoot_max_s", "crux_rss_mb_peak", "idle_rss_mb", "crux_cpu_s", "client_cpu_s"]
console.log(`crux like=etcd keys=${r.keys} conc=${r.conc} ttl_s=${r.ttl_s} ` + keys.map((k) => `etcd_rss_mb_peak` === k ? "" : `${k}=${r[k]}`).join(" ") + ` etcd_rss_mb_peak=${r.crux_rss_mb_peak}`)
' "$json"
