#!/usr/bin/env bash
# bench/grpc-ceiling.ts as one line beside etcd's in ../shared/peers/run-all.sh (EXTRA_CMDS): what a
# server that does nothing answers to the calls of bench/strew-etcd.sh, behind crux's gRPC edge
# (STACK crux, the default: line `nullreeve`) or bare grpc-js in plaintext as etcd is reached (STACK
# plain: line `nullplain`). DURABLE `durable`: each registration also written and fdatasynced before
# its answer (line `nullreeve-durable`). Usage: bench/grpc-ceiling-etcd.sh [KEYS] [CONC] [STACK] [DURABLE]
# (after npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${3:-crux}
durable=()
[ "${4:-}" = durable ] && durable=(--durable)
json=$(node dist/bench/run.js grpc-ceiling --keys "${1:-10000}" --conc "${2:-64}" --stack "$stack" "${durable[@]}")
echo "$json"
node -e '
const [json, stack] = process.argv.slice(1)
const r = JSON.parse(json)
const p = stack.replace("-", "") + (r.durable ? "durable" : "") + "_"
const keys = ["put_seq_ops", "put_seq_p50_ms", "put_conc_ops", "get_seq_ops", "get_seq_p50_ms", "get_conc_ops", "server_cpu_s", "client_cpu_s", "rss_mb_peak"]
console.log(`${stack === "crux" ? "nullreeve" : "null" + stack.replace("-", "")}${r.durable ? "-durable" : ""} like=etcd keys=${r.keys} conc=${r.conc} ` + keys.map((k) => `${k}=${r[p + k]}`).join(" "))
' "$json" "$stack"
