#!/usr/bin/env bash
# Runs one libFuzzer target (build/fuzz/fuzz_TARGET) over its seeds.
#
#   tests/fuzz/run.sh TARGET OUT_DIR LIBFUZZER_ARGS...
#
# OUT_DIR receives the inputs libFuzzer finds; tests/fuzz/corpus/TARGET is
# only read. The log goes to build/fuzz/TARGET.log, crash inputs to
# build/fuzz/TARGET-crash-*. Prints libFuzzer's final status line (total
# executions, cov:, ft:, corpus) and the wall time; on a finding, the end of
# the log. Exits with libFuzzer's status.
set -uo pipefail
cd "$(dirname "$0")/../.."

target=$1 out=$2
shift 2
log=build/fuzz/$target.log
mkdir -p "$out"
start=$(date +%s)
build/fuzz/fuzz_$target -timeout=10 "$@" -print_final_stats=1 -artifact_prefix=build/fuzz/$target- \
  "$out" tests/fuzz/corpus/$target > "$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
# "#10000000 DONE cov: 1234 ft: 5678 corp: 300/21Kb lim: 2051 exec/s: 12000 rss: 90Mb"
final=$(grep -a -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
if [ "$rc" -eq 0 ] && [ -n "$final" ]; then
  echo "fuzz_$target: $final, ${secs} s"
else
  echo "fuzz_$target: FAILED (exit $rc, ${secs} s), end of $log:"
  tail -40 "$log"
  [ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
