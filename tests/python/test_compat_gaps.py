"""Differential tests of the drop-in layers against the installed originals, on random inputs:
MONAI's DiceMetric / compute_dice / DiceHelper with per_component=True, torchmetrics'
functional generalized_dice_score, kornia's confusion_matrix, and MONAI's overlap losses on
(B, C) inputs (no spatial axes).

The originals compute in float32 where noted (MONAI's per-component Dice, torchmetrics' score):
those comparisons use float32's tolerance; counts (kornia) and float64 losses compare exactly
or at float64 rounding."""

import warnings

import numpy as np
import pytest

import dice

torch = pytest.importorskip("torch")

F32 = dict(rtol=1e-5, atol=1e-6, equal_nan=True)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


# ---------------------------------------------------------------- kornia.metrics.confusion_matrix

@pytest.mark.parametrize("shape", [(3, 17, 19), (2, 5, 6, 7), (6,), (4, 1)])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.int8, np.uint8])
@pytest.mark.parametrize("k", [2, 3, 7, 20])
def test_kornia_confusion_matrix(shape, dtype, k):
    km = pytest.importorskip("kornia.metrics")
    from dice.compat import kornia_metrics as dk
    rng = np.random.default_rng(k * 31 + len(shape))
    p = rng.integers(0, k, size=shape)
    t = rng.integers(0, k, size=shape)
    if shape[0] > 1 and p.ndim > 1:
        t[0] = 0  # empty target rows in item 0 (normalized: rows of zeros)
    for normalized in (False, True):
        ours = dk.confusion_matrix(p.astype(dtype), t.astype(dtype), k, normalized)
        theirs = _np(km.confusion_matrix(torch.from_numpy(p), torch.from_numpy(t), k, normalized))
        assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape == (shape[0], k, k)
        np.testing.assert_array_equal(ours, theirs)


def test_kornia_confusion_matrix_bool_empty_and_errors():
    km = pytest.importorskip("kornia.metrics")
    from dice.compat import kornia_metrics as dk
    rng = np.random.default_rng(3)
    p, t = rng.integers(0, 2, size=(3, 8)).astype(bool), rng.integers(0, 2, size=(3, 8)).astype(bool)
    np.testing.assert_array_equal(dk.confusion_matrix(p, t, 2), _np(km.confusion_matrix(torch.from_numpy(p),
                                                                                         torch.from_numpy(t), 2)))
    z = np.zeros((0, 4), np.int64)
    ours, theirs = dk.confusion_matrix(z, z, 3), _np(km.confusion_matrix(torch.from_numpy(z), torch.from_numpy(z), 3))
    assert ours.shape == theirs.shape == (0, 3, 3) and ours.dtype == theirs.dtype
    lab = np.array([[0, 1, 2]])
    with pytest.raises(dice.LabelError, match="pred"):
        dk.confusion_matrix(lab, lab, 2)
    with pytest.raises(dice.LabelError, match="target"):
        dk.confusion_matrix(lab % 2, lab - 1, 3)
    with pytest.raises(dice.DtypeError):
        dk.confusion_matrix(lab.astype(np.float32), lab, 3)
    with pytest.raises(dice.ShapeError):
        dk.confusion_matrix(lab, lab[:, :2], 3)
    with pytest.raises(dice.OptionError):
        dk.confusion_matrix(lab, lab, 1)
    for bad in ((lab, lab, 2), (lab.astype(np.float32), lab, 3), (lab, lab[:, :2], 3), (lab, lab, 1)):
        with pytest.raises(Exception):  # kornia raises on each of these too
            km.confusion_matrix(*(torch.from_numpy(np.asarray(a)) if isinstance(a, np.ndarray) else a for a in bad))
