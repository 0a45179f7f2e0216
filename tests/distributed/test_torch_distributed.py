"""dice.torch with process_group across real processes: torch.distributed (gloo, 127.0.0.1),
2 and 3 ranks, each running torch_worker.py (the checks live there)."""

import pytest

from launch import run_ranks


@pytest.mark.parametrize("world", [2, 3])
def test_torch_distributed(world):
    outputs = run_ranks("torch_worker.py", world, timeout=240)
    for rank, out in enumerate(outputs):
        assert f"rank {rank}/{world}: ok" in out
