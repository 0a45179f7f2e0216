"""Randomised differential tests against the real torchmetrics and medpy (skipped loudly when they
are not installed), beyond the vendored reference cases."""

import numpy as np
import pytest

from conftest import assert_close
from dice.compat import medpy as dice_medpy
from dice.compat import torchmetrics as dice_tm


def _blobs(rng, shape, empty_p=0.15):
    x = rng.random(shape)
    for ax in range(len(shape) - 3, len(shape)):
        x = (x + np.roll(x, 1, axis=ax) + np.roll(x, -1, axis=ax)) / 3
    return (x > np.quantile(x, 0.6)).astype(np.uint8)


@pytest.mark.parametrize("seed", range(30))
def test_generalized_dice_score_matches_torchmetrics(seed):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: torchmetrics differential test NOT run")
    tm = pytest.importorskip("torchmetrics.segmentation",
                             reason="torchmetrics is not installed: its differential test was NOT run")
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 4)), int(rng.integers(2, 5))
    shape = (n, c, *(int(v) for v in rng.integers(4, 12, size=rng.integers(2, 4))))
    p, y = _blobs(rng, shape), _blobs(rng, shape)
    p[rng.random((n, c)) < 0.2] = 0
    y[rng.random((n, c)) < 0.2] = 0
    kw = dict(num_classes=c, include_background=bool(rng.integers(0, 2)), per_class=bool(rng.integers(0, 2)),
              weight_type=str(rng.choice(["square", "simple", "linear"])))
    fmt = str(rng.choice(["one-hot", "index"]))
    if fmt == "index":
        p, y = p.argmax(axis=1), y.argmax(axis=1)
    ref = tm.GeneralizedDiceScore(input_format=fmt, **kw)
    ours = dice_tm.GeneralizedDiceScore(input_format=fmt, **kw)
    halves = [slice(0, max(1, n // 2)), slice(max(1, n // 2), n)]
    for h in halves:
        if p[h].shape[0]:
            expected = ref(torch.tensor(p[h]).long(), torch.tensor(y[h]).long())
            assert_close(ours(p[h], y[h]), expected.numpy(), "overlap", f"seed {seed} {kw} {fmt} forward")
    assert_close(ours.compute(), ref.compute().numpy(), "overlap", f"seed {seed} {kw} {fmt} compute")


@pytest.mark.parametrize("seed", range(30))
def test_medpy_distances_match_medpy(seed):
    pytest.importorskip("scipy", reason="scipy is not installed: medpy differential test NOT run")
    binary = pytest.importorskip("medpy.metric.binary", reason="medpy is not installed: its differential test was NOT run")
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(5, 14, size=rng.integers(2, 4)))
    a, b = _blobs(rng, (1, 1, *shape))[0, 0], _blobs(rng, (1, 1, *shape))[0, 0]
    spacing = None if rng.integers(0, 2) else [float(v) for v in rng.uniform(0.5, 2, size=len(shape))]
    for name in ("hd", "hd95", "asd", "assd"):
        expected = getattr(binary, name)(a, b, voxelspacing=spacing)
        assert_close(getattr(dice_medpy, name)(a, b, voxelspacing=spacing), expected, "distance",
                     f"seed {seed} {name} spacing={spacing}")


def test_medpy_empty_mask_raises_like_medpy():
    import dice
    a = np.zeros((6, 6), dtype=np.uint8)
    b = np.ones((6, 6), dtype=np.uint8)
    with pytest.raises(RuntimeError) as info:
        dice_medpy.hd95(a, b)
    assert isinstance(info.value, dice.EmptyMaskError)
