#!/usr/bin/env bash
# Slow and greedy clients (issue 11, item 3) against a real gateway in front of the built-in post
# API, its configuration the shipped defaults except requestHeadTimeout 5s (10s by default: halved
# so that each slowloris connection is closed and reopened twice as often) and the ports:
#   1, 2. ROUNDS rounds (3), each: the p99 of an ordinary client at a constant rate (LatencyTool,
#      HdrHistogram, timed from the intended send time) alone, then the same while 5,000 idle and
#      1,000 slowloris connections are held (HostileConnections hold: each closed connection
#      reopened at once, from 127.0.0.10 and up, 500 per address), measured once the hold has
#      settled (SETTLE s after all 6,000 are open, plus the latency tool's 5 s warm-up); the
#      round's ratio held / alone, then the median of the rounds' ratios; how many slowloris
#      connections the gateway closed, how many with a 408, and when;
#   3. one client opening 20,000 connections (from one address, then from 40) while the ordinary
#      client, connected before, goes on: its success rate and p99; readyz meanwhile.
#
# Placement (printed at the start): the hostile clients run at the lowest CPU priority
# (HOSTILE_NICE=19), so that on a small machine the attacker's own process does not take the CPU
# from the gateway and the ordinary client (an attacker's CPU is on its own machines); the gateway
# still holds and serves every one of its connections. Optional pinning with taskset lists:
# SERVER_CPUS (upstream and gateway), LOAD_CPUS (the ordinary client), HOSTILE_CPUS (the hostile
# one); unpinned by default, which measured best on 2 cores (README).
#
#   benchmarks/slow/run.sh                      # RATE=1000 DURATION=20 CONNS=16 ROUNDS=3 SETTLE=10
#   RATE=2000 DURATION=30 benchmarks/slow/run.sh
#   PARTS=hold benchmarks/slow/run.sh           # parts 1 and 2 only (PARTS=flood: part 3 only)
#   DIAG=/tmp/slow benchmarks/slow/run.sh       # also keeps, per round, the ordinary client's slow
#                                               # responses and the hostile client's activity there
#
# Traffic goes to 127.0.0.1 only (ports 21001-21003 by default, BASE_PORT to move them); everything
# it starts is stopped when it ends. Raises the open-file limit to the hard limit (20,000 here).
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE=${RATE:-1000}
SECONDS_=${DURATION:-20}
CONNS=${CONNS:-16}
ROUNDS=${ROUNDS:-3}
SETTLE=${SETTLE:-10}
PARTS=${PARTS:-all}
HOSTILE_NICE=${HOSTILE_NICE:-19}
BASE=${BASE_PORT:-21000}
UP=$((BASE + 1)); TG=$((BASE + 2)); ADMIN=$((BASE + 3))
ulimit -n "$(ulimit -Hn)"

BENCH_NAME=slow
# shellcheck source=../lib.sh
source benchmarks/lib.sh

export TOLLGATE_ADMIN_TOKEN=slow-benchmark
cat > "$WORK/tollgate.yaml" <<CONF
listen: 127.0.0.1:$TG
upstream: {url: 'http://127.0.0.1:$UP'}
admin: {listen: '127.0.0.1:$ADMIN'}
dataDir: data
limits: {requestHeadTimeout: 5s}
CONF
server=(); load=(); attacker=(nice -n "$HOSTILE_NICE")
if [ -n "${SERVER_CPUS:-}" ]; then server=(taskset -c "$SERVER_CPUS"); fi
if [ -n "${LOAD_CPUS:-}" ]; then load=(taskset -c "$LOAD_CPUS"); fi
if [ -n "${HOSTILE_CPUS:-}" ]; then attacker+=(taskset -c "$HOSTILE_CPUS"); fi
echo "placement: upstream and gateway on CPUs ${SERVER_CPUS:-any}; ordinary client on CPUs ${LOAD_CPUS:-any};" \
  "hostile clients on CPUs ${HOSTILE_CPUS:-any} at nice $HOSTILE_NICE; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${DIAG:-}" ]; then mkdir -p "$DIAG"; fi
"${server[@]}" java -jar "$JAR" upstream --port "$UP" > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
"${server[@]}" java ${JAVA_OPTS:-} -jar "$JAR" serve --config "$WORK/tollgate.yaml" > "$WORK/tollgate.log" 2>&1 & PIDS+=($!)
wait_port "$UP"; wait_port "$TG"; wait_port "$ADMIN"

URL="http://127.0.0.1:$TG/2/tweets/search/recent?max_results=10"
# latency [NAME]: one run of the ordinary client; with DIAG, its slow responses go to $DIAG/slow-NAME.txt
latency() { "${load[@]}" java ${DIAG:+${1:+-Dlatency.slowLog=$DIAG/slow-$1.txt}} -cp "$BENCH" dev.tollgate.benchmarks.LatencyTool \
  "$URL" "$RATE" "$SECONDS_" "$CONNS" 5 1 2>&1 | tr '\n' ' '; }
p99() { sed -n 's/.* p99=\([0-9]*\) .*/\1/p'; }
# hostile [-DNAME=VALUE...] hold|flood ...
hostile() { local opts=(); while [[ "${1:-}" == -D* ]]; do opts+=("$1"); shift; done
  "${attacker[@]}" java -Xss256k "${opts[@]}" -cp "$BENCH" dev.tollgate.benchmarks.HostileConnections "$@"; }
metric() { curl -s -H "Authorization: Bearer $TOLLGATE_ADMIN_TOKEN" "http://127.0.0.1:$ADMIN/metrics" | grep -E "$1" || true; }
readyz() { curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$ADMIN/readyz" || echo timeout; }

echo "== warm-up (JIT) =="
"${load[@]}" java -cp "$BENCH" dev.tollgate.benchmarks.LatencyTool "$URL" "$RATE" 10 "$CONNS" 5 1 >/dev/null 2>&1 || true

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
if [ "$PARTS" != flood ]; then
ratios=()
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg)) =="
  echo "  1. baseline, alone: rate $RATE/s, $CONNS connections, ${SECONDS_} s"
  base=$(latency "base-$round"); echo "     $base"
  echo "  2. while 5,000 idle + 1,000 slowloris connections are held (measured from ${SETTLE} s after all are open)"
  hold_for=$((SETTLE + SECONDS_ + 5 + 10))
  : > "$WORK/hold.out"
  hostile ${DIAG:+-Dhostile.activityLog=$DIAG/hostile-$round.txt} hold "127.0.0.1:$TG" 5000 1000 "$hold_for" > "$WORK/hold.out" 2>&1 & HOLD=$!; PIDS+=($HOLD)
  for _ in $(seq 1 300); do grep -q '^held' "$WORK/hold.out" && break; sleep 0.1; done
  echo "     $(head -1 "$WORK/hold.out"); gateway: $(metric '^tollgate_open_connections ' | tr '\n' ' ')"
  sleep "$SETTLE"
  held=$(latency "held-$round"); echo "     $held"
  echo "     gateway while held: $(metric '^tollgate_open_connections ' | tr '\n' ' ')readyz $(readyz)"
  wait "$HOLD" || true
  echo "     $(tail -1 "$WORK/hold.out")"
  b=$(echo "$base" | p99); h=$(echo "$held" | p99)
  ratio=$(awk -v h="$h" -v b="$b" 'BEGIN { printf "%.2f", h / b }'); ratios+=("$ratio")
  echo "     round $round: p99 ratio held / baseline = $ratio ($h / $b us; load $(cut -d' ' -f1-3 /proc/loadavg))"
done
echo "  gateway refusals: $(metric '^tollgate_refusals_total' | grep -v ' 0.0$' | tr '\n' ' ')"
echo "== p99 ratio held / baseline, median of $ROUNDS rounds: $(printf '%s\n' "${ratios[@]}" | median) (rounds: ${ratios[*]}; target <= 2)"
fi

[ "$PARTS" = hold ] && { echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end"; exit 0; }
for sources in 1 40; do
  echo "== 3. one client opens 20,000 connections from $sources address(es) while the ordinary client goes on =="
  latency > "$WORK/flood-latency.out" & LAT=$!; PIDS+=($LAT)
  sleep 6 # the ordinary client is connected and past its warm-up
  hostile flood "127.0.0.1:$TG" 20000 "$sources" "$((SECONDS_ - 4))" > "$WORK/flood.out" 2>&1 & FLOOD=$!; PIDS+=($FLOOD)
  sleep 5
  echo "  during the flood: readyz $(readyz); $(metric '^tollgate_open_connections ' | tr '\n' ' ')"
  wait "$FLOOD" || true; wait "$LAT" || true
  echo "  $(cat "$WORK/flood.out")"
  out=$(tr '\n' ' ' < "$WORK/flood-latency.out")
  sent=$(echo "$out" | sed -n 's/.*sent=\([0-9]*\).*/\1/p'); errors=$(echo "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p')
  echo "  ordinary client: $out"
  echo "  its success rate: $(awk -v s="${sent:-0}" -v e="${errors:-0}" 'BEGIN { if (s > 0) printf "%.4f (%d of %d answered 200)", (s - e) / s, s - e, s; else print "none sent" }')"
  echo "  gateway refusals: $(metric '^tollgate_refusals_total' | tr '\n' ' ')"
done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
