#!/usr/bin/env bash
# Coverage-guided fuzzing of one Jazzer target for a bounded time.
#
#   benchmarks/fuzz/run.sh TestClass#method SECONDS     e.g. benchmarks/fuzz/run.sh CountingFuzzTest#anyBytes_neverThrow_neverLeak 120
#   benchmarks/fuzz/run.sh list                         the targets
#
# Runs the test with JAZZER_FUZZ=1 (fuzzing mode; without it `mvn verify` only replays the
# committed corpus). A finding is written as crash-<sha1> into the test's corpus directory,
# src/test/resources/<package>/<TestClass>Inputs/<method>/, where `mvn verify` replays it from
# then on; inputs that reached new coverage are kept in <module>/.cifuzz-corpus/ (not committed:
# copy the useful ones into the corpus directory). The libFuzzer status lines (#execs, cov:, ft:)
# go to benchmarks/fuzz/logs/<method>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ "${1:-}" == "list" || $# -lt 2 ]]; then
    grep -rl --include='*FuzzTest.java' '@FuzzTest' gateway/src/test meter-core/src/test | while read -r f; do
        c=$(basename "$f" .java)
        grep -A1 '@FuzzTest' "$f" | grep -o 'void [A-Za-z_0-9]*' | sed "s/void /$c#/"
    done
    [[ "${1:-}" == "list" ]] && exit 0
    echo "usage: $0 TestClass#method SECONDS" >&2
    exit 2
fi
target=$1
seconds=$2
class=${target%%#*}
method=${target##*#}
file=$(grep -rl --include="$class.java" '@FuzzTest' gateway/src/test meter-core/src/test | head -1)
[[ -n "$file" ]] || { echo "no fuzz test class $class" >&2; exit 2; }
module=${file%%/*}
mkdir -p benchmarks/fuzz/logs
log=benchmarks/fuzz/logs/$method.log
echo "fuzzing $target in $module for ${seconds}s; log: $log"
# Jazzer takes the run's length from the annotation (1h, a cap): the fuzzing JVM is interrupted
# after SECONDS of fuzzing, and libFuzzer prints its last figures as it exits.
JAZZER_FUZZ=1 mvn -B -q -o -pl "$module" -am test -Dtest="$target" -Dsurefire.failIfNoSpecifiedTests=false >"$log" 2>&1 &
mvn_pid=$!
until grep -a -q -E 'INITED|FuzzTestFinding' "$log" 2>/dev/null || ! kill -0 "$mvn_pid" 2>/dev/null; do sleep 1; done
end=$((SECONDS + seconds))
while ((SECONDS < end)) && kill -0 "$mvn_pid" 2>/dev/null; do sleep 1; done
# surefire starts its JVM through sh: interrupt that JVM (the shell's child), only ours
for sh_pid in $(pgrep -P "$mvn_pid" -f surefire || true); do
    for jvm in $(pgrep -P "$sh_pid" || true) "$sh_pid"; do
        kill -INT "$jvm" 2>/dev/null || true
    done
done
wait "$mvn_pid" || true
# the last libFuzzer status line: executions, coverage (cov: edges, ft: features), corpus
grep -a -E '^#[0-9]+' "$log" | tail -1 || true
if grep -a -q -E 'FuzzTestFinding|== Java Exception|crash-[0-9a-f]+' "$log"; then
    echo "FINDING (see $log):"
    grep -a -E '== Java Exception|crash-[0-9a-f]+' "$log" | head -5
    exit 1
fi
echo "no finding"
