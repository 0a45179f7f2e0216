#!/usr/bin/env bash
# Runs dice-core's Miri smoke tests (dice-core/tests/all/miri_smoke.rs) under Miri: every
# `unsafe` block of dice-core on tiny shapes (gradient raw-pointer writes through strided and
# negative-stride views, f32 and f64; the three-step API; the pointwise map; distance
# transforms; the surface metrics' ball search; the boundary loss's gradient), on one and on
# two threads. Under cfg(miri) the engine uses the scalar backend only (backend.rs).
# Needs rustup; installs nightly with miri and rust-src when missing and fails if it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^miri'; then
  echo "== installing nightly with miri and rust-src"
  rustup toolchain install nightly --profile minimal --component miri rust-src
fi
cargo +nightly miri --version
cargo +nightly miri setup

# Two runs. The single-threaded cases under Miri's default aliasing model (Stacked Borrows,
# the stricter one) with isolation on. The two-thread cases under Tree Borrows: rayon's
# work-stealing deque (crossbeam-epoch 0.9) violates Stacked Borrows inside crossbeam itself,
# a known upstream limitation, while Tree Borrows accepts it; isolation is off (the pool
# names threads and queries the OS) and provenance permissive (crossbeam casts integers to
# pointers), and leaks are ignored (the pool's worker threads and their crossbeam-epoch
# registrations are still alive when the test binary exits). Extra arguments are test-name
# filters added to both runs.
FLAGS_1=${MIRIFLAGS_1THREAD:-""}
FLAGS_2=${MIRIFLAGS_2THREADS:-"-Zmiri-tree-borrows -Zmiri-disable-isolation -Zmiri-permissive-provenance -Zmiri-ignore-leaks"}

echo "== miri_smoke::*_1thread (MIRIFLAGS='$FLAGS_1')"
MIRIFLAGS="$FLAGS_1" cargo +nightly miri test -p dice-core --test all -- miri_smoke:: --skip _2threads "$@"
echo "== miri_smoke::*_2threads (MIRIFLAGS='$FLAGS_2')"
MIRIFLAGS="$FLAGS_2" cargo +nightly miri test -p dice-core --test all -- miri_smoke:: --skip _1thread "$@"
echo "MIRI PASSED"
