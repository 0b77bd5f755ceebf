# Shared by the benchmark scripts (sourced after `cd` to the repository root, with BENCH_NAME set):
# the built jars (built once when missing), a work folder and the processes started, all removed
# or stopped on exit, and wait_port. Loopback only, as every benchmark here.
JAR=gateway/target/tollgate.jar
BENCH=benchmarks/target/benchmarks.jar
if [ ! -f "$JAR" ] || [ ! -f "$BENCH" ]; then
  echo "building $JAR and $BENCH ..."
  mvn -B -q package -DskipTests
fi

WORK=$(mktemp -d "/tmp/tollgate-${BENCH_NAME:-bench}-XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# wait_port PORT: until something listens on 127.0.0.1:PORT (10 s at most)
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not listening" >&2; exit 1; }
