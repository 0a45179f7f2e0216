#!/usr/bin/env bash
# Checks that the library crates (dice-core, dice-ffi) build with the declared minimum Rust
# version (`rust-version` in Cargo.toml), with the locked dependency versions. The CLI and the
# benchmarks are programs built with a current stable toolchain and are not held to it.
# Installs that toolchain with rustup when missing; its own target directory keeps the
# main build's artifacts untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$msrv" ] || { echo "ERROR: no rust-version in Cargo.toml" >&2; exit 1; }
if ! rustup run "$msrv" rustc --version >/dev/null 2>&1; then
  echo "-- installing Rust $msrv"
  rustup toolchain install "$msrv" --profile minimal
fi
rustup run "$msrv" rustc --version
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/msrv" \
  cargo +"$msrv" check --locked -p dice-core -p dice-ffi --lib
echo "MSRV $msrv: dice-core and dice-ffi build"
