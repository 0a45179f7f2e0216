#!/usr/bin/env bash
# Runs dice-core's Miri smoke tests (dice-core/tests/all/miri_smoke.rs) under Miri: every
# `unsafe` block of dice-core on tiny shapes (gradient raw-pointer writes through strided and
# negative-stride views, f32 and f64; the three-step API; the pointwise map; distance
# transforms; the surface metrics' ball search; the boundary loss's gradient), on one and on
# two threads. Under cfg(miri) the engine uses the scalar backend only (backend.rs).
# Needs rustup; installs nightly with miri and rust-src when missing and fails if it cannot.
# MIRIFLAGS may be overridden; extra arguments are passed to the test binary as filters.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^miri'; then
  echo "== installing nightly with miri and rust-src"
  rustup toolchain install nightly --profile minimal --component miri rust-src
fi
cargo +nightly miri --version
cargo +nightly miri setup

# -Zmiri-disable-isolation: the thread pool asks the OS for the core count.
export MIRIFLAGS=${MIRIFLAGS:-"-Zmiri-disable-isolation"}
FILTERS=("$@")
if [ ${#FILTERS[@]} -eq 0 ]; then FILTERS=(miri_smoke::); fi
echo "== cargo miri test (MIRIFLAGS=$MIRIFLAGS) -- ${FILTERS[*]}"
cargo +nightly miri test -p dice-core --test all -- "${FILTERS[@]}"
echo "MIRI PASSED"
