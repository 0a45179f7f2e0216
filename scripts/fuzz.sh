#!/usr/bin/env bash
# Fuzzes the C ABI (fuzz/, cargo-fuzz + libFuzzer, AddressSanitizer): builds every target
# once (release, debug assertions on), then runs each for SECONDS (first argument, or
# FUZZ_SECONDS, default 60) starting from its committed seeds in fuzz/corpus/<target>/.
# Fails when any target crashes, leaks, exceeds the RSS limit (an allocation abort or
# runaway allocation) or runs one input past the timeout (a hang); the input that did it
# is left in fuzz/artifacts/<target>/. FUZZ_TARGETS narrows the targets; FUZZ_JOBS (default
# 1) runs that many fuzzing jobs per target; FUZZ_TOGETHER=1 runs the targets at the same time
# instead of one after another (the long run of docs/reliability.md), each logging to
# fuzz/artifacts/<target>.log.
# Needs rustup; installs the nightly toolchain and cargo-fuzz when missing and fails if it
# cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-60}}
TARGETS=${FUZZ_TARGETS:-"tensor_desc options loss metrics stats3"}
JOBS=${FUZZ_JOBS:-1}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "== installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
cargo fuzz --version

echo "== build (cargo fuzz build -O: release + debug assertions, ASan)"
cargo +nightly fuzz build -O

# -rss_limit_mb: a runaway allocation is a failure, not an OOM kill of the machine;
# -timeout: one input taking longer than 10 s is reported as a hang;
# -malloc_limit_mb: one allocation beyond 1 GiB is reported (the harness allocates little).
fuzz_one() {
  local parallel=()
  if [ "$JOBS" -gt 1 ]; then parallel=(-jobs="$JOBS" -workers="$JOBS"); fi
  mkdir -p "fuzz/corpus/$1"
  cargo +nightly fuzz run -O "$1" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
    -max_len=4096 -print_final_stats=1 "${parallel[@]}"
}

failed=()
if [ "${FUZZ_TOGETHER:-0}" = "1" ]; then
  echo "== fuzz $TARGETS at the same time for ${SECONDS_PER_TARGET}s"
  mkdir -p fuzz/artifacts
  declare -A pids
  for t in $TARGETS; do
    fuzz_one "$t" > "fuzz/artifacts/$t.log" 2>&1 &
    pids[$t]=$!
  done
  for t in $TARGETS; do
    if ! wait "${pids[$t]}"; then
      failed+=("$t")
      echo "-- $t FAILED; the end of fuzz/artifacts/$t.log:"
      tail -40 "fuzz/artifacts/$t.log"
    fi
    echo "-- $t: $(grep -h 'stat::number_of_executed_units' "fuzz/artifacts/$t.log" | tail -1)"
  done
else
  for t in $TARGETS; do
    echo "== fuzz $t for ${SECONDS_PER_TARGET}s"
    fuzz_one "$t" || failed+=("$t")
  done
fi

if [ ${#failed[@]} -ne 0 ]; then
  echo "FUZZ FAILED: ${failed[*]} (reproducers in fuzz/artifacts/)"
  exit 1
fi
echo "FUZZ PASSED"
