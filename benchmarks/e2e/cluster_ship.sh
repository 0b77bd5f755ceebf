#!/usr/bin/env bash
# Issue 12, item 8: Redis traffic and memory of the global windows. Starts a 3-master, 3-replica
# Redis Cluster on 127.0.0.1 (ports BASE..BASE+5, bus ports +10000), runs ClusterShipBench (one
# gateway, ENTITIES active entities each getting a post every second, flush FLUSH_MS), and prints
# commands/s and bytes/s per gateway, then the Redis memory per active entity (used_memory of
# the masters before and after, over the entities) and the MEMORY USAGE of one entity's window
# key in a few shapes of a day (gateways × buckets with traffic). Stops and deletes everything.
#
#   benchmarks/e2e/cluster_ship.sh                      # 100,000 entities, 10 s, 1 s flush
#   ENTITIES=20000 SECONDS_=5 benchmarks/e2e/cluster_ship.sh
#
# Needs redis-server and redis-cli (Debian: redis-server) and a built benchmarks.jar
# (mvn -B -o -DskipTests package).
set -euo pipefail
cd "$(dirname "$0")/../.."
ENTITIES=${ENTITIES:-100000}
SECONDS_=${SECONDS_:-10}
FLUSH_MS=${FLUSH_MS:-1000}
COLD_MS=${COLD_MS:-$FLUSH_MS}   # cluster.redis.coldFlushInterval; 30000 = the product's default pacing
BASE=${BASE_PORT:-24100}
JAR=benchmarks/target/benchmarks.jar
DIR=$(mktemp -d /tmp/tollgate-cluster-bench.XXXXXX)
PORTS=$(seq "$BASE" $((BASE + 5)))

cleanup() {
  for p in $PORTS; do
    if [ -f "$DIR/$p.pid" ]; then kill -9 "$(cat "$DIR/$p.pid")" 2>/dev/null || true; fi
  done
  rm -rf "$DIR"
}
trap cleanup EXIT

in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q . ; }
for p in $PORTS; do
  if in_use "$p" || in_use $((p + 10000)); then
    echo "cluster_ship.sh: port $p or its bus port $((p + 10000)) is taken; choose another BASE_PORT" >&2
    exit 1
  fi
done
# waits at most 60 s for a condition, then fails naming it
await() {
  local what=$1; shift
  for _ in $(seq 600); do if "$@"; then return 0; fi; sleep 0.1; done
  echo "cluster_ship.sh: gave up waiting for $what" >&2
  exit 1
}
for p in $PORTS; do
  redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "nodes-$p.conf" \
    --dir "$DIR" --save "" --appendonly no --daemonize yes --pidfile "$DIR/$p.pid" --logfile "$DIR/$p.log"
done
pong() { redis-cli -p "$1" PING 2>/dev/null | grep -q PONG; }
for p in $PORTS; do await "redis-server on $p" pong "$p"; done
redis-cli --cluster create $(for p in $PORTS; do printf '127.0.0.1:%s ' "$p"; done) --cluster-replicas 1 --cluster-yes >"$DIR/create.log"
all_ok() { [ "$(for p in $PORTS; do redis-cli -p "$p" CLUSTER INFO | grep -c 'cluster_state:ok'; done | paste -sd+ | bc)" = 6 ]; }
await "the cluster to be ok on all six nodes" all_ok

masters() { for p in $PORTS; do if redis-cli -p "$p" INFO replication | grep -q 'role:master'; then echo "$p"; fi; done; }
used() { for p in $(masters); do redis-cli -p "$p" INFO memory | tr -d '\r' | sed -n 's/^used_memory://p'; done | paste -sd+ | bc; }
keys() { for p in $(masters); do redis-cli -p "$p" DBSIZE; done | paste -sd+ | bc; }

NODES=$(for p in $PORTS; do printf 'redis://127.0.0.1:%s,' "$p"; done)
BEFORE=$(used)
echo "== ClusterShipBench: $ENTITIES entities, ${SECONDS_}s, flush ${FLUSH_MS}ms, cold ${COLD_MS}ms (redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'))"
java -cp "$JAR" dev.tollgate.benchmarks.ClusterShipBench "${NODES%,}" "$ENTITIES" "$SECONDS_" "$FLUSH_MS" "$COLD_MS"
AFTER=$(used)
echo "== Redis memory (masters' used_memory): before=$BEFORE after=$AFTER keys=$(keys)"
echo "per active entity: $(( (AFTER - BEFORE) / ENTITIES )) bytes (one gateway, 1-2 buckets of 1 min each)"
echo "== Redis CPU per FCALL tollgate_ship (INFO commandstats of each master; the machine's load average: $(cut -d' ' -f1-3 /proc/loadavg))"
for p in $(masters); do echo "  :$p $(redis-cli -p "$p" INFO commandstats | tr -d '\r' | grep '^cmdstat_fcall:')"; done
P1=$(masters | sed -n 1p)
SAMPLE=$(redis-cli -p "$P1" --scan --pattern 'tg:*:w' 2>/dev/null | sed -n 1p)
if [ -n "$SAMPLE" ]; then echo "MEMORY USAGE of one entity's window key ($SAMPLE): $(redis-cli -p "$P1" MEMORY USAGE "$SAMPLE" SAMPLES 0) bytes"; fi

echo "== one entity's window key by shape of its day (FCALL tollgate_ship by hand)"
NOW_B=$(( $(date +%s) / 60 ))
for shape in "1 1" "3 1" "1 60" "3 60" "1 1440" "3 1440"; do
  set -- $shape; g=$1; nb=$2; key="shape-$g-$nb"
  for ((gi = 1; gi <= g; gi++)); do
    args=()
    for ((b = nb - 1; b >= 0; b--)); do args+=($((NOW_B - b)) 1234 1300); done
    redis-cli -c -p "$P1" FCALL tollgate_ship 2 "tg:{$key}:w" "tg:{$key}:i" "gw-$gi" "$NOW_B" 1440 1000000 60000 \
      "$(( $(date +%s) * 1000 ))" 172800000 "$nb" "${args[@]}" >/dev/null
  done
  echo "gateways=$g buckets=$nb: $(redis-cli -c -p "$P1" MEMORY USAGE "tg:{$key}:w" SAMPLES 0) bytes ($(redis-cli -c -p "$P1" OBJECT ENCODING "tg:{$key}:w"))"
done
