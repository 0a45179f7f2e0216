#!/usr/bin/env bash
# The `dice` command-line tool: runs the demo (release build), then tests/cli against MONAI,
# medpy and numpy/scipy in the virtual environment of scripts/test-python.sh (target/python-venv:
# run that first; it installs torch, MONAI and medpy). Adds nibabel and SimpleITK (the tests write
# NIfTI with both), DeepMind's surface-distance (the deepmind convention's reference) and, when it
# installs, seg-metrics. The Rust tests of the CLI (dice-cli/tests) run in
# `cargo test --workspace`. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "-- build the dice CLI (release, with the rest of the workspace: scripts/build-release.sh)"
bash scripts/build-release.sh
bin="$PWD/target/release/dice"

echo "-- dice demo (the README's first command)"
demo_dir="$PWD/target/cli-demo"
rm -rf "$demo_dir"
"$bin" demo "$demo_dir" | tail -8

py="$PWD/target/python-venv/bin/python"
if [ ! -x "$py" ]; then
  echo "!! $py is missing: the CLI comparison with MONAI/medpy did NOT run (run scripts/test-python.sh first)"
  exit 1
fi
echo "-- pip install nibabel, SimpleITK, surface-distance (seg-metrics when available)"
"$py" -m pip install -q nibabel==5.4.2 SimpleITK==2.5.7 surface-distance==0.1
"$py" -m pip install -q seg-metrics==1.2.8 2>/dev/null || echo "!! seg-metrics did not install: its comparison is SKIPPED"
if ! "$py" -c "import torch, monai, medpy.metric, scipy" 2>/dev/null; then
  echo "!! torch/MONAI/medpy/scipy are not in $py: the comparisons of tests/cli will show as SKIPPED"
fi
echo "-- pytest tests/cli (DICE_BIN=$bin)"
DICE_BIN="$bin" "$py" -m pytest -ra -p no:cacheprovider -W ignore::DeprecationWarning -W ignore::UserWarning "$@" tests/cli
