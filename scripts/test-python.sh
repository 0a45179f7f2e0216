#!/usr/bin/env bash
# Python package tests: builds libdice, installs numpy, pytest, torch and the package
# (`pip install ./python`) into a virtual environment (target/python-venv), then runs pytest on
# tests/python. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null; then
  echo "ERROR: $PYTHON not found: the Python tests need Python >= 3.9 (apt-get install python3 python3-venv)" >&2
  exit 1
fi

echo "-- build libdice (release, with the rest of the workspace: scripts/build-release.sh)"
bash scripts/build-release.sh
lib="$PWD/target/release/libdice.so"
[ -f "$lib" ] || { echo "ERROR: $lib was not built" >&2; exit 1; }

venv="$PWD/target/python-venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "-- creating $venv"
  if ! "$PYTHON" -m venv "$venv"; then
    rm -rf "$venv"
    # Debian ships venv/ensurepip separately; install it as test.sh installs the C toolchain.
    if command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
      echo "-- installing python3-venv"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    "$PYTHON" -m venv "$venv" || { echo "ERROR: '$PYTHON -m venv' failed (apt-get install python3-venv)" >&2; exit 1; }
  fi
fi
py="$venv/bin/python"
echo "-- pip install numpy pytest ruff ./python"
"$py" -m pip install -q numpy pytest ruff==0.14.0
echo "-- ruff check and ruff format --check (ruff.toml) on python/, tests/, benchmarks/, examples/"
"$py" -m ruff check python tests benchmarks examples
"$py" -m ruff format --check python tests benchmarks examples
# python/setup.py builds libdice (scripts/build-release.sh: nothing to do after the build above)
# and copies it into the package, so the installed package loads its own copy.
"$py" -m pip install -q ./python  # always rebuilt from the directory, dependencies resolved
echo "-- the installed package loads the library it carries (DICE_LIBRARY unset, outside the tree)"
(cd / && env -u DICE_LIBRARY "$py" -c "
import dice, pathlib, sys
lib = pathlib.Path(dice.library_path).resolve()
pkg = pathlib.Path(dice.__file__).resolve().parent
assert lib.parent == pkg, f'{lib} is not inside the installed package {pkg}'
print('  ', lib, dice.library_version)
")
# dice.torch is tested against PyTorch, and the compat layers against the real libraries
# (randomised differential tests), pinned to the versions that produced tests/reference: a large
# download from PyPI (torch), cached by pip afterwards. medpy goes without its SimpleITK
# dependency (medpy.metric does not use it). DICE_TEST_TORCH=0 leaves all of them out, and those
# tests then report themselves as skipped.
# torch's wheel with its CUDA libraries needs ~6 GB: with less free space, say so loudly and go on
# without it rather than fail the whole run on a full disk.
free_kb=$(df -Pk "$PWD/target" | awk 'NR == 2 {print $4}')
if [ "${DICE_TEST_TORCH:-1}" != "0" ] && [ "${free_kb:-0}" -lt 12000000 ]; then
  echo "!! only $((free_kb / 1024 / 1024)) GiB free under target/: NOT installing torch and the reference libraries"
  DICE_TEST_TORCH=0
fi
if [ "${DICE_TEST_TORCH:-1}" != "0" ]; then
  "$py" -c "import torch, monai, torchmetrics, scipy, medpy.metric, kornia, segmentation_models_pytorch" 2>/dev/null || {
    echo "-- pip install torch monai smp kornia torchmetrics scipy medpy (dice.torch and the differential tests)"
    "$py" -m pip install -q torch==2.15.0 monai==1.6.1 segmentation-models-pytorch==0.6.0 kornia==0.9.0 \
      torchmetrics==1.9.0 scipy==1.17.1
    "$py" -m pip install -q --no-deps medpy==0.5.2
  }
else
  echo "!! DICE_TEST_TORCH=0: torch/MONAI/smp/kornia/torchmetrics/medpy are not installed by this script;"
  echo "!! dice.torch and the differential tests run only where they already are, and show as SKIPPED otherwise"
fi
"$py" -c "import numpy, pytest; print('python', __import__('sys').version.split()[0], 'numpy', numpy.__version__, 'pytest', pytest.__version__)"

# The installed package (not the source tree) is tested; DICE_LIBRARY names the library just built.
echo "-- pytest tests/python (DICE_LIBRARY=$lib)"
cd tests/python
DICE_LIBRARY="$lib" "$py" -m pytest -ra -p no:cacheprovider -W ignore::DeprecationWarning "$@" .
