#!/usr/bin/env bash
# AddressSanitizer on both sides of the C ABI: libdice itself instrumented (nightly,
# -Zsanitizer=address, the standard library rebuilt with -Zbuild-std), linked into the C tests
# (tests/c/test_dice.c, tests/c/test_metrics.c) built with gcc -fsanitize=address; then the
# Rust tests of dice-ffi (tests/ffi_vs_core.rs and the unit tests) under ASan.
# scripts/test-c.sh instruments only the C side; this also catches out-of-bounds accesses
# made inside libdice (its reads of caller buffers, its own allocations).
# Needs rustup, gcc; installs nightly with rust-src when missing and fails if it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

TRIPLE=x86_64-unknown-linux-gnu
if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
  echo "== installing nightly with rust-src"
  rustup toolchain install nightly --profile minimal --component rust-src
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}/asan
OUT="$TARGET_DIR/c-tests"
mkdir -p "$OUT"
export RUSTFLAGS="-Zsanitizer=address -Cforce-frame-pointers=yes"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
CC=${CC:-gcc}
STATIC_DEPS="-lpthread -ldl -lm -lrt -lutil"
CFLAGS="-std=c11 -Wall -Wextra -pedantic -Werror -O1 -g -Iinclude -Itests/c -fsanitize=address -fno-omit-frame-pointer"

echo "== build libdice.a with AddressSanitizer (nightly, -Zbuild-std)"
cargo +nightly build -Zbuild-std --target "$TRIPLE" --target-dir "$TARGET_DIR" --release -p dice-ffi --lib
LIB="$TARGET_DIR/$TRIPLE/release/libdice.a"
nm "$LIB" 2>/dev/null | grep -q '__asan_report' || { echo "FAIL: $LIB is not instrumented"; exit 1; }

for t in test_dice test_metrics; do
  echo "== tests/c/$t.c against the instrumented libdice.a"
  $CC $CFLAGS "tests/c/$t.c" "$LIB" $STATIC_DEPS -o "$OUT/$t"
  "$OUT/$t"
done

echo "== dice-ffi Rust tests under AddressSanitizer"
cargo +nightly test -Zbuild-std --target "$TRIPLE" --target-dir "$TARGET_DIR" -p dice-ffi

echo "SANITIZERS PASSED"
