#!/usr/bin/env bash
# Bounded soak (issue 11, item 7): a real gateway in front of the built-in post API, under a steady
# mix for DURATION seconds (600 by default):
#   good     LatencyTool at RATE req/s over 8 keep-alive connections (constant rate, HdrHistogram)
#   hostile  hostile.py: 12 shapes (control bytes, CL+TE and double Content-Length smuggling,
#            obs-fold, bare CR, oversized head, long target, broken chunking, stalled body), each on
#            a fresh connection, HOSTILE_RATE a second
#   slow     HostileConnections hold: 500 idle and 200 slowloris connections, reopened as closed
# Every minute (and at the start, and after the load stops) it samples the gateway: heap after a
# full GC (jcmd GC.run, then GC.heap_info), open file descriptors (/proc/PID/fd), direct memory
# (the JVM's direct buffer pool and Netty's pooled allocator, from /metrics), open connections
# and pending bytes; then prints the table and a verdict: flat, or not.
#
#   benchmarks/soak/run.sh                 # 10 minutes
#   DURATION=120 benchmarks/soak/run.sh    # 2 minutes
#
# Gateway config: the shipped defaults except requestHeadTimeout 5s and requestBodyTimeout 5s
# (shorter, so the stalled bodies and slowloris heads turn over within the run) and the ports.
# Traffic goes to 127.0.0.1 only (ports 21011-21013, BASE_PORT to move them).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-600}
RATE=${RATE:-500}
HOSTILE_RATE=${HOSTILE_RATE:-50}
BASE=${BASE_PORT:-21010}
UP=$((BASE + 1)); TG=$((BASE + 2)); ADMIN=$((BASE + 3))
ulimit -n "$(ulimit -Hn)"

BENCH_NAME=soak
# shellcheck source=../lib.sh
source benchmarks/lib.sh

export TOLLGATE_ADMIN_TOKEN=soak
cat > "$WORK/tollgate.yaml" <<CONF
listen: 127.0.0.1:$TG
upstream: {url: 'http://127.0.0.1:$UP'}
admin: {listen: '127.0.0.1:$ADMIN'}
dataDir: data
limits: {requestHeadTimeout: 5s, requestBodyTimeout: 5s}
CONF
java -jar "$JAR" upstream --port "$UP" > "$WORK/upstream.log" 2>&1 & PIDS+=($!)
java ${JAVA_OPTS:-} -jar "$JAR" serve --config "$WORK/tollgate.yaml" > "$WORK/tollgate.log" 2>&1 & GW=$!; PIDS+=($GW)
wait_port "$UP"; wait_port "$TG"; wait_port "$ADMIN"

metrics() { curl -s -H "Authorization: Bearer $TOLLGATE_ADMIN_TOKEN" "http://127.0.0.1:$ADMIN/metrics"; }
value() { awk -v k="$1" 'index($0, k " ") == 1 { printf "%.0f", $NF; found = 1 } END { if (!found) printf "-" }'; }
printf "%-8s %14s %6s %14s %15s %6s %9s %8s\n" "t (s)" "heap after GC" "fds" "direct (JVM)" "direct (Netty)" "conns" "upstream" "pending" > "$WORK/table"
sample() { # label
  jcmd "$GW" GC.run > /dev/null
  heap=$(jcmd "$GW" GC.heap_info | sed -n 's/.*total [0-9]*K, used \([0-9]*\)K.*/\1/p' | head -1)
  fds=$(ls "/proc/$GW/fd" | wc -l)
  m=$(metrics)
  direct=$(echo "$m" | value 'jvm_buffer_pool_used_bytes{pool="direct"}')
  netty=$(echo "$m" | value 'tollgate_netty_direct_memory_bytes')
  conns=$(echo "$m" | value 'tollgate_open_connections')
  pending=$(echo "$m" | value 'tollgate_pending_bytes')
  upstream=$(echo "$m" | value 'tollgate_upstream_idle_connections')
  printf "%-8s %12s K %6s %14s %15s %6s %9s %8s\n" "$1" "$heap" "$fds" "$direct" "$netty" "$conns" "$upstream" "$pending" >> "$WORK/table"
  echo "$1 $heap $fds $direct $netty $conns $upstream" >> "$WORK/samples"
}

URL="http://127.0.0.1:$TG/2/tweets/search/recent?max_results=10"
sample "before"
java -cp "$BENCH" dev.tollgate.benchmarks.LatencyTool "$URL" "$RATE" "$((DURATION - 5))" 8 5 1 > "$WORK/good.out" 2>&1 & GOOD=$!; PIDS+=($GOOD)
python3 benchmarks/soak/hostile.py "$TG" "$HOSTILE_RATE" "$DURATION" 64 > "$WORK/hostile.out" 2>&1 & BAD=$!; PIDS+=($BAD)
java -Xss256k -cp "$BENCH" dev.tollgate.benchmarks.HostileConnections hold "127.0.0.1:$TG" 500 200 "$DURATION" 30 > "$WORK/slow.out" 2>&1 & SLOW=$!; PIDS+=($SLOW)
START=$(date +%s)
sleep 5
sample 0
jcmd "$GW" GC.class_histogram | head -13 | tail -10 > "$WORK/histo-start"
for t in $(seq 60 60 "$DURATION"); do
  sleep $((START + t - $(date +%s)))
  sample "$t"
done
jcmd "$GW" GC.class_histogram | head -13 | tail -10 > "$WORK/histo-end"
wait "$GOOD" || true; wait "$BAD" || true; wait "$SLOW" || true
for _ in $(seq 1 30); do [ "$(metrics | value tollgate_open_connections)" = 0 ] && break; sleep 0.5; done
sample "after"
echo "client connections still open after the load, by peer address and state (ss):" > "$WORK/left"
ss -tanH "( sport = :$TG )" | awk '$1 != "LISTEN" { a = $5; sub(/:[0-9]+$/, "", a); n[a " " $1]++ } END { for (k in n) print "  " k ": " n[k] }' >> "$WORK/left"

echo "soak: ${DURATION} s; good $RATE req/s, hostile $HOSTILE_RATE/s, 500 idle + 200 slowloris held"
echo "  good:    $(tr '\n' ' ' < "$WORK/good.out")"
echo "  $(cat "$WORK/hostile.out")"
echo "  slow:    $(tail -1 "$WORK/slow.out")"
echo "  refusals: $(metrics | grep '^tollgate_refusals_total' | sed 's/tollgate_refusals_total//' | tr '\n' ' ')"
echo
cat "$WORK/table"
echo "(upstream: idle keep-alive connections to the upstream, each a descriptor; pending: tollgate_pending_bytes)"
cat "$WORK/left"
echo "largest classes on the heap at the start of the load, then at its end (jcmd GC.class_histogram):"
paste -d'|' "$WORK/histo-start" "$WORK/histo-end" | awk -F'|' '{ printf "  %-70.70s | %s\n", $1, $2 }' 
# flat: from the first sample under load to the last, heap after GC within 10% (or 8 MiB), descriptors
# within 10% (or 50), direct memory within 10% (or 16 MiB, a few of Netty's chunks); after the load, the
# descriptors back to where they were before it (within 10), less the client and upstream connections still open
awk '
  $1 == "before" { fd0 = $3 }
  $1 == "0" { h = $2; f = $3; d = $4; n = $5 }
  $1 != "before" && $1 != "after" && $1 != "0" { H = $2; F = $3; D = $4; N = $5 }
  $1 == "after" { fda = $3 - $6 - $7 }
  function grew(a, b, slack) { return b > a * 1.10 && b - a > slack }
  END {
    bad = ""
    if (grew(h, H, 8192)) bad = bad " heap"
    if (grew(f, F, 50)) bad = bad " fds"
    if (D != "-" && grew(d, D, 16777216)) bad = bad " direct(JVM)"
    if (N != "-" && grew(n, N, 16777216)) bad = bad " direct(Netty)"
    if (fda - fd0 > 10) bad = bad " fds-after-load"
    print (bad == "" ? "verdict: flat" : "verdict: NOT flat:" bad)
  }' "$WORK/samples"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
