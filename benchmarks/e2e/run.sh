#!/usr/bin/env bash
# End-to-end harness (PERFORMANCE.md P1, P2, P3): an nginx static upstream serving an X-API-shaped
# page of 10 posts, nginx as a proxy_pass proxy with upstream keep-alive, and Tollgate in front of
# the same upstream (metering on, and metering off). wrk runs alternate between the proxies being
# compared; every run is printed, then the median ratio. P2 runs LatencyTool (constant rate, timed
# from the intended send time) against nginx and Tollgate in turn at half nginx's maximum.
#
#   benchmarks/e2e/run.sh                 # 3 rounds of 10 s per proxy, wrk -t1 -c64
#   ROUNDS=5 DURATION=20s benchmarks/e2e/run.sh
#   ONLY=p3 ROUNDS=1 DURATION=5s benchmarks/e2e/run.sh   # P3 and P3 gzip only (a reduced round)
#   ONLY=accesslog benchmarks/e2e/run.sh                 # req/s with the access log on / off
#   ONLY=p1 SERVER_CPUS=0 LOAD_CPUS=1 benchmarks/e2e/run.sh  # P1 and P2 only, pinned (see below)
#
# Pinning: on a small machine the load generator and the proxies starve each other. SERVER_CPUS
# (a taskset list) pins the upstream, nginx and Tollgate; LOAD_CPUS pins wrk and the latency tool.
# nginx as a proxy then runs as many workers as SERVER_CPUS holds, and Tollgate (whose event loops
# follow the JVM's available processors, which follow the affinity) as many event loops: the same
# count on both sides. TOLLGATE_JAR measures another build of the gateway (a before/after run).
#
# The upstream nginx compresses (gzip level 1) when a request asks for it, so P1, P2 and P3 run on
# the plain page (wrk sends no Accept-Encoding; Tollgate forwards `identity`) and "P3 gzip" runs
# the same comparison with `Accept-Encoding: gzip`: Tollgate decodes a copy to count the posts.
#
# Needs nginx and wrk: installed through apt-get when missing (as root, or with sudo).
# Traffic goes to 127.0.0.1 only, and everything it starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
ONLY=${ONLY:-all}
BASE=${BASE_PORT:-18080}
UP=$((BASE + 1)); NGX=$((BASE + 2)); TG=$((BASE + 3)); TGOFF=$((BASE + 4)); TGNOLOG=$((BASE + 5))

need() {
  if command -v "$1" >/dev/null 2>&1; then return; fi
  sudo=""; if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "installing $2 (apt-get install -y $2) ..."
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null; }; then
    echo "cannot install $2; install it yourself: sudo apt-get install -y $2" >&2
    exit 2
  fi
}
need nginx nginx-light
need wrk wrk
NGINX=$(command -v nginx)

JAR=${TOLLGATE_JAR:-gateway/target/tollgate.jar}
SERVER_CPUS=${SERVER_CPUS:-}
LOAD_CPUS=${LOAD_CPUS:-}
# command prefixes (taskset execs the command: a background job's $! is the process itself)
SRV=(); [ -n "$SERVER_CPUS" ] && SRV=(taskset -c "$SERVER_CPUS")
LOAD=(); [ -n "$LOAD_CPUS" ] && LOAD=(taskset -c "$LOAD_CPUS")
# the number of CPUs in a taskset list such as 0 or 0,1 or 0-1
cpus() { local n=0 part; for part in ${1//,/ }; do
  if [[ $part == *-* ]]; then n=$((n + ${part#*-} - ${part%-*} + 1)); else n=$((n + 1)); fi; done; echo "$n"; }
NGINX_WORKERS=auto; [ -n "$SERVER_CPUS" ] && NGINX_WORKERS=$(cpus "$SERVER_CPUS")
if [ ! -f "$JAR" ] || [ ! -f benchmarks/target/benchmarks.jar ]; then
  echo "building $JAR and benchmarks/target/benchmarks.jar ..."
  mvn -B -q package -DskipTests
fi

WORK=$(mktemp -d /tmp/tollgate-e2e-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for c in upstream proxy; do [ -f "$WORK/$c.pid" ] && kill "$(cat "$WORK/$c.pid")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not listening" >&2; exit 1; }

# the page: 10 posts of the built-in post API (about 2.8 KB)
"${SRV[@]}" java -jar "$JAR" upstream --port "$UP" >/dev/null 2>&1 & PIDS+=($!)
wait_port "$UP"
curl -s "http://127.0.0.1:$UP/2/tweets/search/recent?max_results=10" > "$WORK/page.json"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'
echo "page: $(wc -c < "$WORK/page.json") bytes, 10 posts"
echo "pinning: servers on CPUs ${SERVER_CPUS:-any}, load generators on CPUs ${LOAD_CPUS:-any}; nginx proxy workers: $NGINX_WORKERS; gateway: $JAR"
chmod 755 "$WORK"; chmod 644 "$WORK/page.json" # nginx workers run as another user when started as root

mkdir -p "$WORK/tmp"
common="pid PIDFILE; error_log $WORK/error.log warn; events { worker_connections 4096; }"
cat > "$WORK/upstream.conf" <<CONF
worker_processes 1; ${common//PIDFILE/$WORK/upstream.pid}
http {
  access_log off; client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp; keepalive_requests 1000000;
  gzip on; gzip_types application/json; gzip_min_length 0; gzip_comp_level 1; gzip_proxied any;
  server { listen 127.0.0.1:$UP; location / { default_type application/json; root $WORK; try_files /page.json =404; } }
}
CONF
cat > "$WORK/proxy.conf" <<CONF
worker_processes $NGINX_WORKERS; ${common//PIDFILE/$WORK/proxy.pid}
http {
  access_log off; client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp; keepalive_requests 1000000;
  upstream api { server 127.0.0.1:$UP; keepalive 128; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$NGX; location / { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
CONF
"${SRV[@]}" "$NGINX" -c "$WORK/upstream.conf" -p "$WORK"
"${SRV[@]}" "$NGINX" -c "$WORK/proxy.conf" -p "$WORK"

# on: metering and the access log on (the defaults); off: a plain pass-through (P3); nolog: metering on, access log off
for mode in on off nolog; do
  port=$TG; [ "$mode" = off ] && port=$TGOFF; [ "$mode" = nolog ] && port=$TGNOLOG
  enabled=true; [ "$mode" = off ] && enabled=false
  accesslog=true; [ "$mode" = nolog ] && accesslog=false
  cat > "$WORK/tollgate-$mode.yaml" <<CONF
listen: 127.0.0.1:$port
upstream: {url: 'http://127.0.0.1:$UP'}
admin: {listen: '127.0.0.1:$((port + 100))'}
dataDir: data-$mode
counting: {enabled: $enabled}
accessLog: {enabled: $accesslog}
CONF
  "${SRV[@]}" java ${JAVA_OPTS:-} -jar "$JAR" serve --config "$WORK/tollgate-$mode.yaml" > "$WORK/tollgate-$mode.log" 2>&1 & PIDS+=($!)
done
wait_port "$NGX"; wait_port "$TG"; wait_port "$TGOFF"; wait_port "$TGNOLOG"

URL=/2/tweets/search/recent
# every proxy must serve the page (200, its size), plain and gzipped: a benchmark of error pages measures nothing
check() { # port header want-coding
  local code size
  read -r code size <<< "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' ${2:+-H "$2"} -D "$WORK/check.h" "http://127.0.0.1:$1$URL")"
  if [ "$code" != 200 ] || { [ -n "$3" ] && ! grep -qi "^content-encoding: $3" "$WORK/check.h"; }; then
    echo "port $1 ${2:+($2) }answers $code, $size bytes (expected 200${3:+ in $3}): fix the setup first" >&2; exit 1
  fi
  echo "  port $1 ${2:+($2) }: 200, $size bytes"; }
echo "checking the page through every proxy ..."
for p in $UP $NGX $TG $TGOFF; do check "$p" "" ""; done
for p in $UP $TG $TGOFF; do check "$p" "Accept-Encoding: gzip" gzip; done

# rps PORT DURATION [HEADER]: requests per second of one wrk run
rps() { "${LOAD[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$2" ${3:+-H "$3"} "http://127.0.0.1:$1$URL" | awk '/Requests\/sec/ {print $2}'; }
echo "warming up (JIT) ..."
for p in $NGX $TG $TGOFF; do rps "$p" 5s >/dev/null; done
for p in $TG $TGOFF; do rps "$p" 3s "Accept-Encoding: gzip" >/dev/null; done

# CPU time (user + system, clock ticks) of a process and its children, from /proc
ticks() { local t=0; for p in "$@" $(for q in "$@"; do pgrep -P "$q" || true; done); do
  [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)
# requests/s and the proxy's CPU microseconds per request, for one wrk run
measure() { local port=$1 pids=$2 before after out n
  before=$(ticks $pids); out=$("${LOAD[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" ${3:+-H "$3"} "http://127.0.0.1:$port$URL"); after=$(ticks $pids)
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(awk -v t=$((after - before)) -v n="$n" -v hz="$HZ" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')"; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# compare name-a port-a pid-a name-b port-b pid-b figure [header]: req/s ratio a ÷ b, and the
# ratio of CPU per request b ÷ a (what the req/s ratio would be if both were CPU-bound alone:
# far steadier than req/s on a machine shared with other work)
compare() {
  local ratios=() cpus=()
  for r in $(seq 1 "$ROUNDS"); do
    read -r a acpu <<< "$(measure "$2" "$3" "${8:-}")"; read -r b bcpu <<< "$(measure "$5" "$6" "${8:-}")"
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", a / b}')
    cpu=$(awk -v a="$acpu" -v b="$bcpu" 'BEGIN {printf "%.3f", b / a}')
    printf "  round %d: %-22s %8.0f req/s (%5s us CPU/request)   %-22s %8.0f req/s (%5s us CPU/request)   ratio %s, CPU ratio %s\n" \
      "$r" "$1" "$a" "$acpu" "$4" "$b" "$bcpu" "$ratio" "$cpu"
    ratios+=("$ratio"); cpus+=("$cpu")
  done
  printf "%s = median ratio: %s (CPU per request, off ÷ on: %s)\n\n" "$7" "$(printf '%s\n' "${ratios[@]}" | median)" \
    "$(printf '%s\n' "${cpus[@]}" | median)"
}
TG_PID=${PIDS[0]}; TGOFF_PID=${PIDS[1]}; TGNOLOG_PID=${PIDS[2]}; NGX_PID=$(cat "$WORK/proxy.pid")
if [ "$ONLY" = accesslog ]; then
  echo "Access log: Tollgate with its access log on (the default) vs off, metering on in both"
  compare "tollgate access log on" "$TG" "$TG_PID" "tollgate access log off" "$TGNOLOG" "$TGNOLOG_PID" "access log on / off (target >= 0.97)"
  exit 0
fi
if [ "$ONLY" != p3 ]; then
echo
echo "P1: Tollgate (metering on) vs nginx proxy_pass, wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds"
NGINX_RPS=()
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  read -r a acpu <<< "$(measure "$TG" "$TG_PID")"; read -r b bcpu <<< "$(measure "$NGX" "$NGX_PID")"
  NGINX_RPS+=("$b")
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", a / b}')
  printf "  round %d: tollgate %8.0f req/s (%5s us CPU/request)   nginx %8.0f req/s (%5s us CPU/request)   ratio %s\n" \
    "$r" "$a" "$acpu" "$b" "$bcpu" "$ratio"
  ratios+=("$ratio")
done
printf "P1 (target >= 1.0) = median ratio: %s\n\n" "$(printf '%s\n' "${ratios[@]}" | median)"

# P2: latency at a constant rate of half nginx's maximum, timed from the intended send time
RATE=$(printf '%s\n' "${NGINX_RPS[@]}" | median | awk '{printf "%d", $1 / 2}')
LAT_SECONDS=${LAT_SECONDS:-20}
latency() { local line
  line=$("${LOAD[@]}" java -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.LatencyTool "http://127.0.0.1:$1$URL" "$RATE" "$LAT_SECONDS" "$CONNS" 5 1 2>"$WORK/latency.err")
  # failed requests (not 200, or a broken connection) are counted on stderr: shown on the same line, never hidden
  echo "$line$(grep -h '^errors:' "$WORK/latency.err" | sed 's/^/ /')"; }
echo "P2: constant rate $RATE req/s (half of nginx's median maximum), $CONNS connections, ${LAT_SECONDS}s after 5s warm-up; latency in microseconds"
p99s=()
for r in $(seq 1 "$ROUNDS"); do
  n=$(latency "$NGX"); t=$(latency "$TG")
  printf "  round %d: nginx    %s\n           tollgate %s\n" "$r" "$n" "$t"
  np=$(echo "$n" | sed -E 's/.* p99=([0-9]+).*/\1/'); tp=$(echo "$t" | sed -E 's/.* p99=([0-9]+).*/\1/')
  p99s+=("$(awk -v a="$tp" -v b="$np" 'BEGIN {printf "%.3f", a / b}')")
done
printf "P2 (target <= 1.0) = median p99 ratio tollgate / nginx: %s\n\n" "$(printf '%s\n' "${p99s[@]}" | median)"
[ "$ONLY" = p1 ] && exit 0
fi
echo "P3: Tollgate metering on vs off (pass-through)"
compare "tollgate metering on" "$TG" "$TG_PID" "tollgate metering off" "$TGOFF" "$TGOFF_PID" "P3 (target >= 0.97)"
gz=$(curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$TG$URL" | wc -c)
echo "P3 gzip: the same with Accept-Encoding: gzip (the upstream sends the page gzipped, $gz bytes; Tollgate decodes a copy to count)"
compare "tollgate metering on" "$TG" "$TG_PID" "tollgate metering off" "$TGOFF" "$TGOFF_PID" "P3 gzip (target >= 0.97)" "Accept-Encoding: gzip"
echo "direct upstream for reference: $(rps "$UP" "$DURATION") req/s"
