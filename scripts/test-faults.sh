#!/usr/bin/env bash
# The fault tests of issue 14: hostile and broken input, full and unwritable disks (tests/input_faults.rs) and, when
# present, interruptions (tests/faults.rs). Runs them, then prints one row per fault tried:
#   fault | what happened | outcome
# Each test appends its rows to $B2C_FAULT_REPORT (test, fault, what happened, outcome) once a fault's checks pass;
# a test that failed, or that records no rows, gets one row from its name. Exits non-zero when any test failed.
set -euo pipefail
cd "$(dirname "$0")/.."

report=$(mktemp)
log=$(mktemp)
trap 'rm -f "$report" "$log"' EXIT

targets=(--test input_faults)
if [ -f tests/faults.rs ]; then targets+=(--test faults); fi

status=0
B2C_FAULT_REPORT="$report" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" \
  cargo test --quiet "${targets[@]}" -- --format pretty 2>&1 | tee "$log" >&2 || status=$?

cell() { printf '%s' "$1" | tr '|' '/'; } # keep the table's columns intact

echo
echo "| fault | what happened | outcome |"
echo "| --- | --- | --- |"
# Every test that ran, in the order cargo reported it: its rows, or one row saying how it ended.
sed -n 's/^test \([A-Za-z0-9_:]*\) \.\.\. \(ok\|FAILED\|ignored\)$/\1 \2/p' "$log" | while read -r test result; do
  rows=0
  if [ "$result" = ok ]; then
    while IFS=$'\t' read -r name fault happened outcome; do
      [ "$name" = "$test" ] || continue
      echo "| $(cell "$fault") | $(cell "$happened") | $(cell "$outcome") |"
      rows=$((rows + 1))
    done < "$report"
  fi
  if [ "$rows" -eq 0 ]; then
    case $result in
      ok) echo "| ${test//_/ } | the test's checks passed | passed |" ;;
      ignored) echo "| ${test//_/ } | not run (ignored) | ignored |" ;;
      *) echo "| ${test//_/ } | the test failed: see its output above | **FAILED** |" ;;
    esac
  fi
done
total=$(grep -c '^test .* \.\.\. ' "$log" || true)
failed=$(grep -c '^test .* \.\.\. FAILED$' "$log" || true)
echo
echo "$total fault tests, $failed failed."
exit "$status"
