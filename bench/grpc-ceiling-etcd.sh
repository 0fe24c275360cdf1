#!/usr/bin/env bash
# bench/grpc-ceiling.ts's crux stack as one line beside etcd's in ../shared/peers/run-all.sh
# (EXTRA_CMDS): what a server that does nothing behind crux's gRPC edge answers to the client and
# calls of bench/strew-etcd.sh. Usage: bench/grpc-ceiling-etcd.sh [KEYS] [CONC] (after npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
json=$(node dist/bench/run.js grpc-ceiling --keys "${1:-10000}" --conc "${2:-64}" --stack crux)
echo "$json"
node -e '
const r = JSON.parse(process.argv[1])
const keys = ["put_seq_ops", "put_seq_p50_ms", "put_conc_ops", "get_seq_ops", "get_seq_p50_ms", "get_conc_ops", "server_cpu_s", "client_cpu_s", "rss_mb_peak"]
console.log(`nullreeve like=etcd keys=${r.keys} conc=${r.conc} ` + keys.map((k) => `${k}=${r["crux_" + k]}`).join(" "))
' "$json"
