#!/usr/bin/env bash
# Runs every test of the project. Installs what the tests need first, so a fresh machine passes.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage header carries the seconds elapsed so far, so a slow CI run shows where the time went.
stage() { echo "== $* [${SECONDS}s]"; }

stage "prerequisites (installed when missing: CI starts from a bare Debian machine)"
missing=()
for tool in gcc:gcc g++:g++ nm:binutils pkg-config:pkg-config cmake:cmake; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stage "toolchain"
cargo --version
rustc --version

stage "rust: build, lints, unit/integration/property tests (every SIMD backend the CPU has)"
cargo build --workspace --all-targets
cargo test --workspace
# Each backend is also forced through the environment switch the library honours.
# (--workspace, not -p dice-core: the same feature resolution as above, so nothing rebuilds.)
for arch in scalar v3 v4; do
  echo "-- DICE_ARCH=$arch (lowered to what the CPU supports)"
  DICE_ARCH=$arch cargo test --workspace --test all -- reference_cases:: loss_family::
done

stage "lints: rustfmt --check (rustfmt.toml), clippy with warnings as errors (undocumented unsafe, missing docs)"
rustup component add rustfmt clippy
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

stage "the NEON backend compiles (cross-check for aarch64)"
rustup target add aarch64-unknown-linux-gnu
cargo check -p dice-core --target aarch64-unknown-linux-gnu

stage "MSRV: the library crates build with the declared rust-version (scripts/msrv.sh)"
bash scripts/msrv.sh

stage "release build of the whole workspace (scripts/build-release.sh: one feature resolution)"
bash scripts/build-release.sh
release="${CARGO_TARGET_DIR:-target}/release"

stage "the built-in example runs"
"$release/examples/phantom" 1 | tail -3

stage "throughput: dice-report --quick (table below); fails when a case's ratio to the bandwidth floor"
echo "   regresses more than 2x against benchmarks/baseline.json (see BENCHMARKS.md)"
"$release/dice-report" --quick --json target/dice-report.json \
  --check benchmarks/baseline.json

stage "C/C++ tests of the C ABI (static, shared, ASan/UBSan, C++17, pkg-config, CMake)"
bash scripts/test-c.sh
stage "Python package tests (pytest; installs numpy/pytest into target/python-venv)"
bash scripts/test-python.sh
stage "distributed: torch.distributed (gloo) and Open MPI, 2 and 3 processes on 127.0.0.1 (installs openmpi, mpi4py)"
bash scripts/test-distributed.sh
stage "the dice CLI: demo, and tests/cli against MONAI/medpy (uses target/python-venv, adds nibabel)"
bash scripts/test-cli.sh

stage "Miri: dice-core's unsafe code on the scalar backend, tiny shapes, 1 and 2 threads (nightly)"
bash scripts/miri.sh

stage "cargo-fuzz smoke: every target of fuzz/ at once for 60 s (ASan, libFuzzer; long runs: docs/reliability.md)"
FUZZ_TOGETHER=1 bash scripts/fuzz.sh 60
echo "ALL TESTS PASSED [${SECONDS}s]"
