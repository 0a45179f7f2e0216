#!/usr/bin/env bash
# Builds every release artifact of the workspace in one cargo invocation: libdice (static and
# shared), the `dice` CLI, dice-report and the examples. One invocation means one feature
# resolution, so dice-core and its dependencies compile once; building `-p dice-ffi` and
# `-p dice-cli` separately resolves different dependency features (the CLI's readers turn on
# `std` in num-traits, num-complex and either) and compiles dice-core twice. The test scripts
# all call this, so the artifacts under target/release are built once per run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --lib --bins --examples
