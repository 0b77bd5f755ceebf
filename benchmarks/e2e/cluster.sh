#!/usr/bin/env bash
# Issue 12, item 8: the figures of cluster mode that need running servers. Starts, on 127.0.0.1
# only, a 3-master + 3-replica Redis Cluster and a PostgreSQL 15 in a temporary directory, then
#
#  p1   the req/s of one gateway in cluster mode ÷ one single-process gateway: an nginx static
#       upstream serves the 10-post page (as in run.sh), both gateways proxy it with the same
#       settings (the cluster one joined to Redis and PostgreSQL), wrk -t1 -c64 runs alternate
#       between them; every round printed, then the median ratio (target >= 0.97) and the ratio
#       of CPU per request (single ÷ cluster: steadier than req/s on a shared machine).
#  lag  DetectionLag: three gateways in one JVM, a scraper round-robin across them, the time from
#       the crossing response to the flag record in the flagging gateway's local ledger and in
#       PostgreSQL, at the default 1 s flush (target <= 1.5 s).
#
#   benchmarks/e2e/cluster.sh                      # both: 2 x 2 x 15 s warm-up, 5 rounds of 10 s, then 20 trials
#   ONLY=p1 ROUNDS=3 DURATION=5s benchmarks/e2e/cluster.sh
#   ONLY=lag TRIALS=30 benchmarks/e2e/cluster.sh
#   ONLY=lag TRIALS=5 BACKGROUND=30000 benchmarks/e2e/cluster.sh   # with 30,000 other active entities
#   CONTROL=1 ONLY=p1 benchmarks/e2e/cluster.sh  # A/A control: the "cluster" gateway without its cluster
#                                                # section (two identical single gateways): the noise floor
#   SERVER_CPUS=0 LOAD_CPUS=1 benchmarks/e2e/cluster.sh   # pinning as in run.sh (Redis and PostgreSQL
#                                                         # run on the server CPUs too)
#
# Ports BASE_PORT (27000) .. +399. Needs nginx, wrk (P1), redis-server, redis-cli and the PostgreSQL
# 15 binaries (/usr/lib/postgresql/15/bin; as root they run as the postgres user), and a build:
# mvn -B -o -q package -DskipTests. Everything it starts is stopped, and its directory deleted, when
# it ends, also on Ctrl-C or a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ONLY=${ONLY:-all}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-15s}
CONNS=${CONNS:-64}
TRIALS=${TRIALS:-20}
THRESHOLD=${THRESHOLD:-10000}
SCRAPE_RATE=${SCRAPE_RATE:-200}
FLUSH=${FLUSH:-1s}
BACKGROUND=${BACKGROUND:-0}
BASE=${BASE_PORT:-27000}
UP=$((BASE + 1)); TG=$((BASE + 3)); TGC=$((BASE + 4)); REDIS=$((BASE + 100)); PGPORT=$((BASE + 200))
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
JAR=${TOLLGATE_JAR:-gateway/target/tollgate.jar}
BENCH=benchmarks/target/benchmarks.jar
SERVER_CPUS=${SERVER_CPUS:-}
LOAD_CPUS=${LOAD_CPUS:-}
SRV=(); [ -n "$SERVER_CPUS" ] && SRV=(taskset -c "$SERVER_CPUS")
LOAD=(); [ -n "$LOAD_CPUS" ] && LOAD=(taskset -c "$LOAD_CPUS")

for tool in redis-server redis-cli "$PGBIN/initdb" "$PGBIN/pg_ctl" "$PGBIN/psql"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "cluster.sh: $tool not found (Debian: apt-get install redis-server postgresql-15)" >&2; exit 2; }
done
if [ "$ONLY" != lag ]; then
  for tool in nginx wrk; do command -v "$tool" >/dev/null 2>&1 || { echo "cluster.sh: $tool not found (apt-get install nginx-light wrk)" >&2; exit 2; }; done
fi
if [ ! -f "$JAR" ] || [ ! -f "$BENCH" ]; then echo "cluster.sh: build first: mvn -B -o -q package -DskipTests" >&2; exit 2; fi

WORK=$(mktemp -d /tmp/tollgate-cluster-e2e-XXXXXX)
chmod 755 "$WORK"
PIDS=()
AS_PG=(); [ "$(id -u)" = 0 ] && AS_PG=(runuser -u postgres --)
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for f in "$WORK"/upstream.pid "$WORK"/redis-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  [ -f "$WORK/pg/data/postmaster.pid" ] && "${AS_PG[@]}" "$PGBIN/pg_ctl" stop -w -m immediate -D "$WORK/pg/data" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not listening" >&2; exit 1; }

# Redis Cluster: 3 masters, 3 replicas; bus ports +10 (inside this script's range)
RPORTS=$(seq "$REDIS" $((REDIS + 5)))
for p in $RPORTS; do
  "${SRV[@]}" redis-server --port "$p" --cluster-port $((p + 10)) --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "nodes-$p.conf" --dir "$WORK" --save "" --appendonly no --daemonize yes \
    --pidfile "$WORK/redis-$p.pid" --logfile "$WORK/redis-$p.log"
done
for p in $RPORTS; do until redis-cli -p "$p" PING 2>/dev/null | grep -q PONG; do sleep 0.1; done; done
redis-cli --cluster create $(for p in $RPORTS; do printf '127.0.0.1:%s ' "$p"; done) --cluster-replicas 1 --cluster-yes >"$WORK/create.log"
for _ in $(seq 1 300); do
  ok=0; for p in $RPORTS; do redis-cli -p "$p" CLUSTER INFO | grep -q 'cluster_state:ok' && ok=$((ok + 1)); done
  [ "$ok" = 6 ] && break; sleep 0.2
done
[ "$ok" = 6 ] || { echo "the Redis Cluster did not come up (see $WORK/create.log)" >&2; exit 1; }
REDIS_URIS=$(for p in $(seq "$REDIS" $((REDIS + 2))); do printf 'redis://127.0.0.1:%s,' "$p"; done); REDIS_URIS=${REDIS_URIS%,}

# PostgreSQL 15: local socket trusted (for this script's psql), TCP with scram for the gateways
mkdir -p "$WORK/pg"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$WORK/pg"
"${AS_PG[@]}" "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync >"$WORK/initdb.log"
"${AS_PG[@]}" "${SRV[@]}" "$PGBIN/pg_ctl" start -w -t 60 -D "$WORK/pg/data" -l "$WORK/pg/server.log" \
  -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $WORK/pg" >/dev/null
PG_PASSWORD="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
"${AS_PG[@]}" "$PGBIN/psql" -q -h "$WORK/pg" -p "$PGPORT" -U postgres -d postgres \
  -c "CREATE ROLE tollgate LOGIN PASSWORD '$PG_PASSWORD'" -c "CREATE DATABASE tollgate OWNER tollgate" -c "CREATE DATABASE tollgate_lag OWNER tollgate"
printf '%s\n' "$PG_PASSWORD" > "$WORK/pg.password"; chmod 600 "$WORK/pg.password"
echo "servers: Redis Cluster $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on $REDIS-$((REDIS + 5)), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on $PGPORT"
echo "pinning: servers on CPUs ${SERVER_CPUS:-any}, load on CPUs ${LOAD_CPUS:-any}; load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$ONLY" != lag ]; then
  # the upstream: nginx serving the built-in post API's 10-post page, as in run.sh
  "${SRV[@]}" java -jar "$JAR" upstream --port "$UP" >/dev/null 2>&1 & PIDS+=($!)
  wait_port "$UP"
  curl -s "http://127.0.0.1:$UP/2/tweets/search/recent?max_results=10" > "$WORK/page.json"
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'
  chmod 644 "$WORK/page.json"; mkdir -p "$WORK/tmp"
  cat > "$WORK/upstream.conf" <<CONF
worker_processes 1; pid $WORK/upstream.pid; error_log $WORK/error.log warn; events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp; keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; location / { default_type application/json; root $WORK; try_files /page.json =404; } }
}
CONF
  "${SRV[@]}" nginx -c "$WORK/upstream.conf" -p "$WORK"
  echo "one secret for the whole cluster" > "$WORK/key-hash.secret"
  for mode in single cluster; do
    port=$TG; [ "$mode" = cluster ] && port=$TGC
    { cat <<CONF
listen: 127.0.0.1:$port
upstream: {url: 'http://127.0.0.1:$UP'}
admin: {listen: '127.0.0.1:$((port + 10))'}
dataDir: data-$mode
entities: {keyHashSecretFile: key-hash.secret}
CONF
      if [ "$mode" = cluster ] && [ "${CONTROL:-0}" != 1 ]; then cat <<CONF
cluster:
  nodeId: bench-gw
  redis: {nodes: [${REDIS_URIS//,/, }], flushInterval: $FLUSH}
  postgres: {url: 'jdbc:postgresql://127.0.0.1:$PGPORT/tollgate', user: tollgate, passwordFile: pg.password}
CONF
      fi; } > "$WORK/tollgate-$mode.yaml"
    "${SRV[@]}" java ${JAVA_OPTS:-} -jar "$JAR" serve --config "$WORK/tollgate-$mode.yaml" > "$WORK/tollgate-$mode.log" 2>&1 & PIDS+=($!)
  done
  TG_PID=${PIDS[0]}; TGC_PID=${PIDS[1]}
  wait_port "$UP"; wait_port "$TG"; wait_port "$TGC"
  URL=/2/tweets/search/recent
  for p in $TG $TGC; do
    read -r code size <<< "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$p$URL")"
    [ "$code" = 200 ] || { echo "port $p answers $code (expected 200): see $WORK/tollgate-*.log" >&2; cat "$WORK"/tollgate-*.log >&2; exit 1; }
    echo "  port $p: 200, $size bytes"
  done
  echo "cluster gateway: $(curl -s -H "Authorization: Bearer $(cat "$WORK/data-cluster/admin.token" 2>/dev/null)" "http://127.0.0.1:$((TGC + 10))/api/v1/status" | head -c 400)"
  ticks() { local t=0; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
  HZ=$(getconf CLK_TCK)
  measure() { local port=$1 pid=$2 before after out n
    before=$(ticks "$pid"); out=$("${LOAD[@]}" wrk -t1 -c"$CONNS" -d"$3" "http://127.0.0.1:$port$URL"); after=$(ticks "$pid")
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(awk -v t=$((after - before)) -v n="$n" -v hz="$HZ" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')"; }
  median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
  echo "warming up (JIT; twice $WARMUP each, alternating: on a loaded machine the compilers need long) ..."
  for _ in 1 2; do measure "$TG" "$TG_PID" "$WARMUP" >/dev/null; measure "$TGC" "$TGC_PID" "$WARMUP" >/dev/null; done
  [ "${CONTROL:-0}" = 1 ] && echo "CONTROL=1: the gateway labelled cluster runs WITHOUT its cluster section (A/A control)"
  echo "P1 in cluster mode: gateway in cluster mode vs single-process gateway, wrk -t1 -c$CONNS -d$DURATION, $ROUNDS rounds (the order alternates)"
  ratios=(); cpus=()
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then read -r c ccpu <<< "$(measure "$TGC" "$TGC_PID" "$DURATION")"; read -r s scpu <<< "$(measure "$TG" "$TG_PID" "$DURATION")"
    else read -r s scpu <<< "$(measure "$TG" "$TG_PID" "$DURATION")"; read -r c ccpu <<< "$(measure "$TGC" "$TGC_PID" "$DURATION")"; fi
    ratio=$(awk -v a="$c" -v b="$s" 'BEGIN {printf "%.3f", a / b}'); cpu=$(awk -v a="$ccpu" -v b="$scpu" 'BEGIN {printf "%.3f", b / a}')
    printf "  round %d: cluster %8.0f req/s (%5s us CPU/request)   single %8.0f req/s (%5s us CPU/request)   ratio %s, CPU ratio %s   (load %s)\n" \
      "$r" "$c" "$ccpu" "$s" "$scpu" "$ratio" "$cpu" "$(cut -d' ' -f1 /proc/loadavg)"
    ratios+=("$ratio"); cpus+=("$cpu")
  done
  printf "P1 cluster / single (target >= 0.97) = median ratio: %s (CPU per request, single / cluster: %s)\n" \
    "$(printf '%s\n' "${ratios[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)"
  echo "cluster gateway after the runs: $(curl -s -H "Authorization: Bearer $(cat "$WORK/data-cluster/admin.token" 2>/dev/null)" "http://127.0.0.1:$((TGC + 10))/api/v1/status" | head -c 400)"
  echo "Redis calls (FCALL) per master during P1: $(for p in $(seq "$REDIS" $((REDIS + 5))); do redis-cli -p "$p" INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_fcall:calls=\([0-9]*\).*/\1/p'; done | paste -sd' ')"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${PIDS[@]}" 2>/dev/null || true; PIDS=()
  kill "$(cat "$WORK/upstream.pid")" 2>/dev/null || true
  echo
fi

if [ "$ONLY" != p1 ]; then
  echo "Detection lag: $TRIALS trials (DetectionLag)"
  mkdir -p "$WORK/lag"
  "${SRV[@]}" java ${JAVA_OPTS:-} -cp "$BENCH" dev.tollgate.benchmarks.DetectionLag "$REDIS_URIS" \
    "jdbc:postgresql://127.0.0.1:$PGPORT/tollgate_lag" tollgate "$WORK/pg.password" "$WORK/lag" \
    "$TRIALS" "$THRESHOLD" "$SCRAPE_RATE" "$FLUSH" "$BACKGROUND" 2> "$WORK/lag.log" || { tail -40 "$WORK/lag.log" >&2; exit 1; }
fi
