#!/usr/bin/env bash
# Distributed tests (docs/distributed.md): real multi-process runs on 127.0.0.1.
#  - torch.distributed (gloo), 2 and 3 ranks: dice.torch losses with process_group= (values
#    bit-identical to one process on the whole batch, input gradients, DistributedDataParallel
#    over a Conv3d) and the dice.compat.monai metrics' aggregate() across ranks;
#  - Open MPI, 2 and 3 ranks: examples/mpi_batch_dice.c (mpicc) and its mpi4py twin, bit-identical
#    to the single-process call.
# Installs what it needs: Open MPI with apt-get when mpicc is missing (sudo unless root), and
# into target/python-venv (created by scripts/test-python.sh, or here) numpy, pytest, torch,
# the package and mpi4py (pinned). Anything that cannot be installed fails the run: nothing is
# skipped. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "-- build libdice (release, with the rest of the workspace: scripts/build-release.sh)"
bash scripts/build-release.sh
lib="$PWD/target/release/libdice.so"
[ -f "$lib" ] || { echo "ERROR: $lib was not built" >&2; exit 1; }

if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
  echo "-- installing Open MPI (openmpi-bin libopenmpi-dev)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
fi
command -v mpicc >/dev/null && command -v mpirun >/dev/null || {
  echo "ERROR: Open MPI (mpicc, mpirun) could not be installed: the MPI tests cannot run" >&2; exit 1; }
mpirun --version | head -1

venv="$PWD/target/python-venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "-- creating $venv"
  "${PYTHON:-python3}" -m venv "$venv" || { echo "ERROR: cannot create $venv (apt-get install python3-venv)" >&2; exit 1; }
fi
py="$venv/bin/python"
"$py" -c "import numpy, pytest" 2>/dev/null || "$py" -m pip install -q numpy pytest
"$py" -c "import torch" 2>/dev/null || {
  echo "-- pip install torch==2.15.0"
  "$py" -m pip install -q torch==2.15.0
}
"$py" -c "import mpi4py" 2>/dev/null || {
  echo "-- pip install mpi4py==4.1.2"
  "$py" -m pip install -q mpi4py==4.1.2
}
"$py" -m pip install -q ./python  # the package under test, from this tree
"$py" -c "import torch.distributed as d; assert d.is_available() and d.is_gloo_available(), 'torch without gloo'" || {
  echo "ERROR: torch with torch.distributed (gloo) is not available in $venv" >&2; exit 1; }
"$py" -c "import mpi4py, torch; print('torch', torch.__version__, 'mpi4py', mpi4py.__version__)"

echo "-- pytest tests/distributed (DICE_LIBRARY=$lib)"
DICE_LIBRARY="$lib" timeout 900 "$py" -m pytest -ra -p no:cacheprovider -W ignore::DeprecationWarning "$@" tests/distributed
