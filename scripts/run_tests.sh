#!/usr/bin/env bash
# Runs every test binary and every lesson's smoke run, checks each exit code, and ends with
# one plain line "N passed, N failed". Usage: run_tests.sh BUILD_DIR TEST_BIN... -- LESSON_BIN...
# A binary that crashes or exits non-zero counts as a failure even if its own report said otherwise.
set -uo pipefail

build=$1; shift
tests=(); lessons=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do tests+=("$1"); shift; done
[ $# -gt 0 ] && shift
lessons=("$@")

# OpenMP threads that wait by sleeping, not spinning: a test binary sharing the cores with anything
# else (a parallel build, another job) would otherwise crawl while idle threads burn the CPU.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

logdir="$build/test-logs"
mkdir -p "$logdir"
passed=0; failed=0; broken=()

for bin in "${tests[@]}"; do
  name=$(basename "$bin")
  log="$logdir/$name.log"
  start=$EPOCHREALTIME
  "$bin" --gtest_color=no >"$log" 2>&1
  rc=$?
  secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b - a}')
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or exited badly without a gtest verdict
  passed=$((passed + p)); failed=$((failed + f))
  if [ $rc -eq 0 ]; then
    echo "ok    $name: $p passed (${secs}s)"
  else
    echo "FAIL  $name: $p passed, $f failed, exit code $rc (${secs}s) — log: $log"
    grep -E '^\[  FAILED  \]|Failure|ERROR|runtime error|Sanitizer' "$log" | head -20 | sed 's/^/      /'
    broken+=("$name")
  fi
done

for bin in "${lessons[@]}"; do
  name=$(basename "$bin")
  log="$logdir/lesson-$name.log"
  start=$EPOCHREALTIME
  "$bin" --smoke --out "$build/smoke/$name" >"$log" 2>&1
  rc=$?
  secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b - a}')
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1)); echo "ok    lesson $name --smoke (${secs}s)"
  else
    failed=$((failed + 1)); broken+=("lesson $name")
    echo "FAIL  lesson $name --smoke, exit code $rc — log: $log"; tail -5 "$log" | sed 's/^/      /'
  fi
done

[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
