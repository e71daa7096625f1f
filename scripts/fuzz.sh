#!/usr/bin/env bash
# Runs every libFuzzer harness built by `make fuzz` for FUZZ_SECONDS each, one after the other, and prints one line
# per target: how long it ran, how many inputs it executed, its corpus, and whether it found anything.
#
#   scripts/fuzz.sh BUILD_DIR SECONDS TARGET...     (BUILD_DIR/fuzz_TARGET; seeds in fuzz/corpus/TARGET/)
#
# New corpus entries go to BUILD_DIR/corpus/TARGET/ (the committed seeds are only read), a crashing input to
# BUILD_DIR/crashes/TARGET/, the fuzzer's whole output to BUILD_DIR/logs/TARGET.log. Exits 1 if any target found a
# crash, a sanitizer report, a leak, a timeout or an allocation over the limits.
set -uo pipefail
build=$1 seconds=$2
shift 2

# What counts as a finding besides a crash: one input running longer than 10 s, more than 2 GB resident, or one
# allocation over 2 GB (libFuzzer's malloc limit follows the RSS limit): "no allocation larger than the file holds".
limits=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1)
failed=0
printf '%-14s %8s %12s %10s  %s\n' target seconds executions corpus result
for target in "$@"; do
  bin="$build/fuzz_$target"
  corpus="$build/corpus/$target" crashes="$build/crashes/$target/" log="$build/logs/$target.log"
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  extra=()
  [ -f "fuzz/$target.dict" ] && extra+=("-dict=fuzz/$target.dict")
  # The checkpoint seeds with an optimizer and a generator state are 7 KB.
  [ "$target" = checkpoint ] && extra+=(-max_len=12000)
  start=$(date +%s)
  # One thread: the GEMM's OpenMP threads would only compete with the other builds for the two cores.
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:suppressions=fuzz/ubsan_suppressions.txt \
    "$bin" "${limits[@]}" "${extra[@]}" -max_total_time="$seconds" -artifact_prefix="$crashes" \
    "$corpus" "fuzz/corpus/$target" >"$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    result=clean
  else
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    what=$(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|FINDING|.*runtime error)' "$log" | cut -c1-120)
    result="FOUND: ${what:-exit status $rc} (input ${artifact:-?}, log $log)"
  fi
  printf '%-14s %8s %12s %10s  %s\n' "$target" "$elapsed" "${runs:-?}" "$files files" "$result"
done
[ $failed -eq 0 ] && echo "fuzz: every target ran clean" || echo "fuzz: findings above; reproduce with $build/fuzz_TARGET INPUT"
exit $failed
