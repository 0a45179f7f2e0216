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


# ------------------------------------ torchmetrics.functional.segmentation.generalized_dice_score

def _onehot(rng, n, c, spatial):
    """Random one-hot masks (uint8) from smoothed noise (blobs)."""
    noise = rng.random((n, c, *spatial))
    for axis in range(2, noise.ndim):
        noise = (noise + np.roll(noise, 1, axis) + np.roll(noise, -1, axis)) / 3
    return np.moveaxis(np.eye(c, dtype=np.uint8)[noise.argmax(axis=1)], -1, 1).copy()


def _gds_inputs(fmt, dtype, spatial, seed, c=4, n=3):
    rng = np.random.default_rng(seed)
    p, g = _onehot(rng, n, c, spatial), _onehot(rng, n, c, spatial)
    # empty ground-truth classes, so every inf-replacement branch is taken: with 4 classes and 3
    # items, class 1 in item 0, class 2 in items 0 and 1, class 3 everywhere (an all-inf weight
    # column) and an empty predicted class 1 in item 1; otherwise the last class of item 0
    empty = ((0, 1), (0, 2), (1, 2), *((b, 3) for b in range(n))) if (n, c) == (3, 4) else ((0, c - 1),)
    for b, k in empty:
        g[b, 0] |= g[b, k]
        g[b, k] = 0
    if (n, c) == (3, 4):
        p[1, 1] = 0
    if fmt == "index":
        return p.argmax(1).astype(dtype), g.argmax(1).astype(dtype)
    if fmt == "mixed":
        return p.astype(dtype), g.argmax(1).astype(np.int64)
    return p.astype(dtype), g.astype(dtype)


def _tm(a):
    """torchmetrics one-hot encodes index maps with torch's one_hot, which takes int64 only."""
    return torch.from_numpy(a.astype(np.int64) if a.dtype.kind in "biu" else a)


@pytest.mark.parametrize("spatial", [(13, 11), (5, 6, 7)], ids=["2d", "3d"])
@pytest.mark.parametrize("fmt, dtype", [("one-hot", np.uint8), ("one-hot", np.int64), ("one-hot", np.bool_),
                                        ("one-hot", np.float32), ("index", np.int64), ("index", np.int16),
                                        ("mixed", np.int32)])
def test_torchmetrics_generalized_dice_score(spatial, fmt, dtype):
    tf = pytest.importorskip("torchmetrics.functional.segmentation")
    from dice.compat import torchmetrics as dtm
    for seed in (1, 2):
        p, g = _gds_inputs(fmt, dtype, spatial, seed)
        for ib in (True, False):
            for pc in (False, True):
                for wt in ("square", "simple", "linear"):
                    ours = dtm.generalized_dice_score(p, g, 4, ib, pc, wt, fmt)
                    theirs = _np(tf.generalized_dice_score(_tm(p), _tm(g), 4, ib, pc, wt, fmt))
                    assert ours.shape == theirs.shape == ((3, 4 if ib else 3) if pc else (3,))
                    np.testing.assert_allclose(ours, theirs.astype(np.float64), **F32)


def test_torchmetrics_generalized_dice_score_single_sample_and_errors():
    tf = pytest.importorskip("torchmetrics.functional.segmentation")
    from dice.compat import torchmetrics as dtm
    p, g = _gds_inputs("one-hot", np.int64, (9, 8), 3, c=2, n=1)
    for ib in (True, False):
        for pc in (False, True):
            np.testing.assert_allclose(dtm.generalized_dice_score(p, g, 2, ib, pc),
                                       _np(tf.generalized_dice_score(_tm(p), _tm(g), 2, ib, pc)), **F32)
    z = np.zeros((2, 3, 4, 5), np.int64)  # every class empty on both sides: every score 0
    np.testing.assert_array_equal(dtm.generalized_dice_score(z, z, 3, per_class=True),
                                  _np(tf.generalized_dice_score(_tm(z), _tm(z), 3, per_class=True)))
    for kw in (dict(num_classes=0), dict(num_classes=3, weight_type="uniform"), dict(num_classes=3, per_class=1),
               dict(num_classes=3, include_background=None), dict(num_classes=3, input_format="labels")):
        with pytest.raises(dice.OptionError):
            dtm.generalized_dice_score(p, g, **kw)
        with pytest.raises(ValueError):
            tf.generalized_dice_score(_tm(p), _tm(g), **kw)
    with pytest.raises(dice.NdimError):
        dtm.generalized_dice_score(np.zeros(4, np.int64), np.zeros(4, np.int64), 3, input_format="index")
    with pytest.raises(ValueError):
        tf.generalized_dice_score(torch.zeros(4, dtype=torch.int64), torch.zeros(4, dtype=torch.int64), 3,
                                  input_format="index")
