#!/usr/bin/env bash
# The whole suite (`make test`): host unit tests under ASan/UBSan, then the
# QEMU tests. Prints each part's result and a closing "N passed, N failed"
# line; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

unit_log=$(mktemp)
trap 'rm -f "$unit_log"' EXIT

echo "== unit tests (host, ASan/UBSan) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  build/host/unit_tests --jobs 2 2>&1 | tee "$unit_log"
unit_rc=${PIPESTATUS[0]}
# Criterion: "[====] Synthesis: Tested: N | Passing: P | Failing: F | Crashing: C"
synth=$(grep -a 'Synthesis:' "$unit_log" | tail -1)
unit_pass=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$synth")
unit_fail=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$synth")
unit_crash=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$synth")
if [ -z "$unit_pass" ]; then
  echo "unit: no Criterion summary (exit $unit_rc)"; unit_pass=0; unit_fail=1; unit_crash=0
fi
# LeakSanitizer reports do not fail a Criterion test by themselves (TRAPS.md).
if grep -aq 'ERROR: LeakSanitizer' "$unit_log"; then
  echo "unit: LeakSanitizer reported leaks"; unit_fail=$((unit_fail + 1))
fi
unit_fail=$((unit_fail + unit_crash))
[ "$unit_rc" -ne 0 ] && [ "$unit_fail" -eq 0 ] && unit_fail=1

echo "== host tools (pktgen against a loopback wire) =="
tools_log=$(mktemp)
tools/src/pktgen/selftest.sh 2>&1 | tee "$tools_log"
tools_rc=${PIPESTATUS[0]}
tools_pass=$(sed -n 's/^selftest: \([0-9]*\) passed.*/\1/p' "$tools_log" | tail -1)
tools_fail=$(sed -n 's/^selftest: [0-9]* passed, \([0-9]*\) failed.*/\1/p' "$tools_log" | tail -1)
rm -f "$tools_log"
tools_pass=${tools_pass:-0}; tools_fail=${tools_fail:-1}
[ "$tools_rc" -ne 0 ] && [ "$tools_fail" -eq 0 ] && tools_fail=1

echo "== host tools (pktcap against a fake image) =="
pktcap_log=$(mktemp)
tools/src/pktcap/selftest.sh 2>&1 | tee "$pktcap_log"
pktcap_rc=${PIPESTATUS[0]}
p=$(sed -n 's/^selftest: \([0-9]*\) passed.*/\1/p' "$pktcap_log" | tail -1)
f=$(sed -n 's/^selftest: [0-9]* passed, \([0-9]*\) failed.*/\1/p' "$pktcap_log" | tail -1)
rm -f "$pktcap_log"
tools_pass=$((tools_pass + ${p:-0})); tools_fail=$((tools_fail + ${f:-1}))
[ "$pktcap_rc" -ne 0 ] && [ "${f:-1}" -eq 0 ] && tools_fail=$((tools_fail + 1))

echo "== host tools (pktstat) =="
pktstat_log=$(mktemp)
python3 tools/pktstat_test.py 2>&1 | tee "$pktstat_log"
pktstat_rc=${PIPESTATUS[0]}
p=$(sed -n 's/^pktstat: \([0-9]*\) passed.*/\1/p' "$pktstat_log" | tail -1)
f=$(sed -n 's/^pktstat: [0-9]* passed, \([0-9]*\) failed.*/\1/p' "$pktstat_log" | tail -1)
rm -f "$pktstat_log"
tools_pass=$((tools_pass + ${p:-0})); tools_fail=$((tools_fail + ${f:-1}))
[ "$pktstat_rc" -ne 0 ] && [ "${f:-1}" -eq 0 ] && tools_fail=$((tools_fail + 1))

echo "== fuzzing (libFuzzer, ${FUZZ_TEST_SECONDS:-20} s per target; pipeline corpus replay) =="
fuzz_pass=0; fuzz_fail=0
for target in pipeline config bpf capture; do
  corpus=$(mktemp -d)
  if tests/fuzz/run.sh $target "$corpus" -max_total_time=${FUZZ_TEST_SECONDS:-20}; then
    fuzz_pass=$((fuzz_pass + 1))
  else
    fuzz_fail=$((fuzz_fail + 1))
  fi
  rm -rf "$corpus"
done
# Every drop reason must be reached by the pipeline corpus (replay_pipeline.c).
if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 build/fuzz/replay_pipeline tests/fuzz/corpus/pipeline; then
  fuzz_pass=$((fuzz_pass + 1))
else
  fuzz_fail=$((fuzz_fail + 1))
fi

# The benchmark binary's correctness checks (WORKLOADS.md fingerprints, both
# sides' results) on its quick counts, one repetition: a few seconds. The
# figures it prints are not looked at here.
echo "== benchmark binary (WORKLOADS.md fingerprints and results) =="
bench_pass=0; bench_fail=0
bench_log=$(mktemp)
build/bench/host_bench --quick -r 1 >"$bench_log" 2>&1
bench_rc=$?
# A failed check says MISMATCH (tools/bench/bench_core.c); a few lines are
# figures with no verdict.
bench_pass=$(grep '^CHECK ' "$bench_log" | grep -vc 'MISMATCH')
bench_fail=$(grep '^CHECK ' "$bench_log" | grep -c 'MISMATCH')
grep '^CHECK .*MISMATCH' "$bench_log"
if [ "$bench_rc" -ne 0 ] || [ "$bench_pass" -eq 0 ]; then
  tail -5 "$bench_log"; echo "bench: host_bench exit $bench_rc"; bench_fail=$((bench_fail + 1))
fi
rm -f "$bench_log"
echo "bench: $bench_pass checks ok, $bench_fail failed"

echo "== QEMU tests =="
qemu_log=$(mktemp)
python3 tests/qemu/run.py 2>&1 | tee "$qemu_log"
qemu_rc=${PIPESTATUS[0]}
qemu_pass=$(sed -n 's/^qemu: \([0-9]*\) passed.*/\1/p' "$qemu_log" | tail -1)
qemu_fail=$(sed -n 's/^qemu: [0-9]* passed, \([0-9]*\) failed.*/\1/p' "$qemu_log" | tail -1)
rm -f "$qemu_log"
qemu_pass=${qemu_pass:-0}; qemu_fail=${qemu_fail:-1}
[ "$qemu_rc" -ne 0 ] && [ "$qemu_fail" -eq 0 ] && qemu_fail=1

total_pass=$((unit_pass + tools_pass + fuzz_pass + bench_pass + qemu_pass))
total_fail=$((unit_fail + tools_fail + fuzz_fail + bench_fail + qemu_fail))
echo
echo "unit: $unit_pass passed, $unit_fail failed"
echo "tools: $tools_pass passed, $tools_fail failed"
echo "fuzz: $fuzz_pass passed, $fuzz_fail failed"
echo "bench: $bench_pass passed, $bench_fail failed"
echo "qemu: $qemu_pass passed, $qemu_fail failed"
echo "total: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
