#!/usr/bin/env bash
# Runs host_bench the two ways WORKLOADS.md asks for and prints the results:
#
#   1. the timed pass, pinned to one CPU (taskset; EAL's lcore 0 follows it):
#      RESULT / RATIO / CHECK lines, R repetitions alternating the two sides
#   2. the callgrind pass (--cg, reduced counts, collection only around the
#      timed loops): IR lines, and a CHECK of every DPDK figure against
#      WORKLOADS.md's reference instruction counts (within 2%: PASS/FAIL)
#
# then the TARGET lines and a Markdown table (tools/bench/summarize.py).
#
#   tools/bench/run_host.sh [build/bench/host_bench]
#
# Environment: BENCH_CORE (default: the last CPU), REPS (default 7),
# QUICK=1 (reduced counts, R=3: a smoke run, not figures to quote),
# BENCH_OUT (default build/bench; outputs timed.txt, cg.txt, cg/, summary.txt).
#
# Exits non-zero when a correctness CHECK says MISMATCH; a DPDK instruction
# count off the reference is reported (FAIL) but does not fail the run.
set -euo pipefail

BIN=${1:-build/bench/host_bench}
OUT=${BENCH_OUT:-build/bench}
CORE=${BENCH_CORE:-$(($(nproc) - 1))}
REPS=${REPS:-7}
ARGS=()
if [ -n "${QUICK:-}" ] && [ "${QUICK}" != 0 ]; then
    ARGS+=(--quick)
    REPS=${REPS_QUICK:-3}
fi

if ! command -v valgrind >/dev/null; then
    echo "run_host: valgrind not found (apt-get install valgrind)" >&2
    exit 1
fi
mkdir -p "$OUT/cg"
rm -f "$OUT"/cg/cg.out*

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, pinned to CPU $CORE"
echo "== timed pass: taskset -c $CORE $BIN -r $REPS ${ARGS[*]:-}"
taskset -c "$CORE" "$BIN" -r "$REPS" "${ARGS[@]}" | tee "$OUT/timed.txt"

echo "== callgrind pass: valgrind --tool=callgrind --collect-atstart=no $BIN --cg ${ARGS[*]:-}"
taskset -c "$CORE" valgrind --tool=callgrind --collect-atstart=no \
    --callgrind-out-file="$OUT/cg/cg.out" "$BIN" --cg "${ARGS[@]}" >"$OUT/cg.txt" 2>"$OUT/cg.log"
grep '^CHECK' "$OUT/cg.txt" | sed 's/^CHECK  /CHECK  (cg run) /'

echo "== instructions per operation, targets, table"
set +e
python3 tools/bench/summarize.py "$OUT/timed.txt" "$OUT/cg" | tee "$OUT/summary.txt"
set -e
nb_fail=$(grep -c '^CHECK .* FAIL$' "$OUT/summary.txt" || true)
nb_bad=$(cat "$OUT/timed.txt" "$OUT/cg.txt" | grep -c 'MISMATCH' || true)
echo "== DPDK instruction counts off the WORKLOADS.md reference by more than 2%: $nb_fail"
echo "== correctness mismatches: $nb_bad (outputs in $OUT/)"
[ "$nb_bad" -eq 0 ]
