#!/usr/bin/env bash
# Ingest benchmark (issue 4, "Numbers it must reach"): durable ingest with triage through
# `POST /api/v1/messages`, driven by wrk with N concurrent connections, on a fresh database.
#
#   scripts/bench-ingest.sh [--postgres] [--no-embeddings] [--duration 30] [--connections 32]
#                           [--threads 1] [--warmup 5] [--no-build] [--startup-runs 0]
#
# Builds release, starts `target/release/switchboard serve` on a fresh temporary SQLite file
# (or, with --postgres, a fresh database on 127.0.0.1:5432 as user postgres), creates an
# `ingest` token, waits for /ready (and prints how long that took from process start), runs a
# short warm-up and then the measured load, prints throughput and latency percentiles, checks
# in the database that every acknowledged message is stored and triaged, and stops the server.
# Every request carries a unique external_id (a new message, never a duplicate delivery) and a
# message body drawn from data/taxonomy/test.csv.
#
# --startup-runs N additionally starts the server N more times on a fresh database and prints
# the time from process start to the first 200 from /ready for each run.
#
# Needs wrk (Debian: apt-get install -y wrk), curl and python3; sqlite3 or psql for the check.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=sqlite
no_embeddings=""
duration=30
connections=32
threads=1
warmup=5
build=1
startup_runs=0
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) backend=postgres ;;
    --no-embeddings) no_embeddings="--no-embeddings" ;;
    --duration) duration="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --no-build) build=0 ;;
    --startup-runs) startup_runs="$2"; shift ;;
    *) echo "bench-ingest: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

command -v wrk >/dev/null || { echo "bench-ingest: wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ "$build" = 1 ] && cargo build --release -p switchboard
bin=${SB_BENCH_BIN:-target/release/switchboard}   # SB_BENCH_BIN: compare another build

work=$(mktemp -d /tmp/sb-bench-ingest.XXXXXX)
port=$((20000 + RANDOM % 20000))
addr="127.0.0.1:$port"
server_pid=""
pg_db=""

# Sets db_url (and pg_db) to a fresh database. Not to be called in $(…): pg_db must be set in
# this shell, or the stored-message check reads the wrong database and drop_db drops nothing.
new_db() {
  if [ "$backend" = postgres ]; then
    pg_db="sb_bench_$$_$RANDOM"
    psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE $pg_db" >/dev/null
    db_url="postgres://postgres@127.0.0.1:5432/$pg_db"
  else
    rm -f "$work"/bench.db*
    db_url="sqlite://$work/bench.db"
  fi
}

drop_db() {
  if [ -n "$pg_db" ]; then
    psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
    pg_db=""
  fi
}

stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

cleanup() {
  stop_server
  drop_db
  # SB_BENCH_SERVER_LOG=FILE keeps the server's log (e.g. with RUST_LOG=sb_store=debug).
  if [ -n "${SB_BENCH_SERVER_LOG:-}" ] && [ -f "$work/server.log" ]; then cp "$work/server.log" "$SB_BENCH_SERVER_LOG"; fi
  rm -rf "$work"
}
trap cleanup EXIT

now_ns() { date +%s%N; }

# Starts the server on $db_url and waits for /ready; sets ready_seconds. Not to be called in
# $(…): server_pid must be set in this shell so that stop_server and the trap can stop it.
start_server() {
  local started ready_ns
  started=$(now_ns)
  "$bin" serve --db "$db_url" --addr "$addr" $no_embeddings >"$work/server.log" 2>&1 &
  server_pid=$!
  # Up to 15 minutes: the first start on a new corpus or model version trains the default
  # model (minutes); start-to-/ready is meant to be measured once it is cached.
  for _ in $(seq 1 90000); do
    if curl -fs -o /dev/null "http://$addr/ready"; then
      ready_ns=$(now_ns)
      ready_seconds=$(python3 -c "print(f'{($ready_ns - $started) / 1e9:.3f}')")
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.01
  done
  echo "bench-ingest: the server did not become ready; its log:" >&2
  tail -20 "$work/server.log" >&2
  return 1
}

# Message bodies as JSON string literals in a Lua table (one load per wrk thread).
python3 - "$work/bodies.lua" <<'EOF'
import csv, json, sys
with open("data/taxonomy/test.csv", newline="", encoding="utf-8") as f:
    texts = [row["text"] for row in csv.DictReader(f) if row["text"].strip()]
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.write("return {\n")
    for text in texts:
        # ASCII JSON literal inside a Lua long string: no escaping rules to get wrong.
        literal = json.dumps(text, ensure_ascii=True)
        out.write("  [==[" + literal + "]==],\n")
    out.write("}\n")
EOF

echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== backend: $backend, embeddings: $([ -n "$no_embeddings" ] && echo no || echo yes), connections: $connections, wrk threads: $threads, duration: ${duration}s"

new_db
start_server
echo "== start to /ready: ${ready_seconds}s"
token=$("$bin" token create --db "$db_url" --name bench --scopes ingest 2>/dev/null | tail -1)

export SB_BENCH_BODIES="$work/bodies.lua" SB_BENCH_TOKEN="$token"
if [ "$warmup" -gt 0 ]; then
  SB_BENCH_RUN="warmup" wrk -t "$threads" -c "$connections" -d "${warmup}s" --timeout 10s -s scripts/bench/ingest.lua "http://$addr" \
    | grep '^RESULT' | sed 's/^RESULT/== warm-up:/'
fi
loadavg_before=$(cut -d' ' -f1 /proc/loadavg)
SB_BENCH_RUN="run$$" wrk -t "$threads" -c "$connections" -d "${duration}s" --timeout 10s -s scripts/bench/ingest.lua "http://$addr" >"$work/wrk.out"
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)
result=$(grep '^RESULT' "$work/wrk.out")
echo "$result" | sed 's/^RESULT/== load:/'
echo "== load average (1 min) at start of load: $loadavg_before, after: $loadavg_after"

# Every acknowledged request (201) of the measured run is a stored, triaged message.
count_sql="SELECT COUNT(*), SUM(CASE WHEN stage = 'triaged' THEN 1 ELSE 0 END) FROM messages WHERE direction = 'inbound' AND external_id LIKE 'bench-run$$-%'"
if [ "$backend" = postgres ]; then
  counts=$(psql -h 127.0.0.1 -U postgres -d "$pg_db" -tA -F' ' -c "$count_sql")
else
  counts=$(sqlite3 "$work/bench.db" "$count_sql" | tr '|' ' ')
fi
acknowledged=$(echo "$result" | grep -o '201:[0-9]*' | cut -d: -f2)
echo "== stored messages of the measured run (stored, triaged): $counts; acknowledged with 201: ${acknowledged:-0}"
stop_server
drop_db

for run in $(seq 1 "$startup_runs"); do
  new_db
  start_server
  echo "== startup run $run: start to /ready ${ready_seconds}s"
  stop_server
  drop_db
done
