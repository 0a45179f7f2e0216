"""Differential tests of the drop-in layers against the installed originals, on random inputs:
MONAI's DiceMetric / compute_dice / DiceHelper with per_component=True, torchmetrics'
functional generalized_dice_score, kornia's confusion_matrix, and MONAI's overlap losses on
(B, C) inputs (no spatial axes).

The originals compute in float32 where noted (MONAI's per-component Dice, torchmetrics' score):
those comparisons use float32's tolerance; counts (kornia) and float64 losses compare exactly
or at float64 rounding."""

import warnings
import zlib

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
    np.testing.assert_array_equal(
        dk.confusion_matrix(p, t, 2), _np(km.confusion_matrix(torch.from_numpy(p), torch.from_numpy(t), 2))
    )
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
@pytest.mark.parametrize(
    "fmt, dtype",
    [
        ("one-hot", np.uint8),
        ("one-hot", np.int64),
        ("one-hot", np.bool_),
        ("one-hot", np.float32),
        ("index", np.int64),
        ("index", np.int16),
        ("mixed", np.int32),
    ],
)
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
            np.testing.assert_allclose(
                dtm.generalized_dice_score(p, g, 2, ib, pc),
                _np(tf.generalized_dice_score(_tm(p), _tm(g), 2, ib, pc)),
                **F32,
            )
    z = np.zeros((2, 3, 4, 5), np.int64)  # every class empty on both sides: every score 0
    np.testing.assert_array_equal(
        dtm.generalized_dice_score(z, z, 3, per_class=True),
        _np(tf.generalized_dice_score(_tm(z), _tm(z), 3, per_class=True)),
    )
    for kw in (
        dict(num_classes=0),
        dict(num_classes=3, weight_type="uniform"),
        dict(num_classes=3, per_class=1),
        dict(num_classes=3, include_background=None),
        dict(num_classes=3, input_format="labels"),
    ):
        with pytest.raises(dice.OptionError):
            dtm.generalized_dice_score(p, g, **kw)
        with pytest.raises(ValueError):
            tf.generalized_dice_score(_tm(p), _tm(g), **kw)
    with pytest.raises(dice.NdimError):
        dtm.generalized_dice_score(np.zeros(4, np.int64), np.zeros(4, np.int64), 3, input_format="index")
    with pytest.raises(ValueError):
        tf.generalized_dice_score(
            torch.zeros(4, dtype=torch.int64), torch.zeros(4, dtype=torch.int64), 3, input_format="index"
        )


# ---------------------------------------------------- MONAI per_component=True (Dice per component)


def _blobs(rng, shape, density):
    """A bool foreground of several components (thresholded smoothed noise)."""
    noise = rng.random(shape)
    for axis in range(noise.ndim):
        noise = (noise + np.roll(noise, 1, axis) + np.roll(noise, -1, axis)) / 3
    return noise > np.quantile(noise, 1.0 - density)


def _two_channels(fg, dtype):
    fg = fg[:, None]
    return np.concatenate([~fg, fg], axis=1).astype(dtype)


PC_SPATIAL = {"2d": (23, 29), "3d": (11, 13, 12)}


@pytest.mark.parametrize("dim", PC_SPATIAL)
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int64, np.float32, np.float64, np.bool_], ids=lambda d: np.dtype(d).name
)
def test_monai_per_component(dim, dtype):
    mm = pytest.importorskip("monai.metrics")
    pytest.importorskip("scipy")
    from dice.compat import monai as dm

    rng = np.random.default_rng(5 + len(dim))
    spatial = PC_SPATIAL[dim]
    gt = np.stack([_blobs(rng, spatial, d) for d in (0.3, 0.1, 0.05, 0.0, 0.2)])
    pred = np.stack([_blobs(rng, spatial, d) for d in (0.3, 0.15, 0.0, 0.1, 0.0)])
    pred[0] = gt[0] ^ (rng.random(spatial) < 0.05)  # a close prediction
    y_pred, y = _two_channels(pred, dtype), _two_channels(gt, dtype)
    # MONAI's torch.argmax rejects bool: it gets the same values as uint8
    ref = (lambda a: torch.from_numpy(a.astype(np.uint8))) if dtype is np.bool_ else torch.from_numpy
    for ie in (True, False):
        ours = dm.compute_dice(y_pred, y, ignore_empty=ie, per_component=True)
        theirs = _np(mm.compute_dice(ref(y_pred), ref(y), ignore_empty=ie, per_component=True))
        assert ours.shape == theirs.shape == (5, 1)
        np.testing.assert_allclose(ours, theirs, **F32)
        assert np.isnan(ours[3, 0]) == ie  # empty ground truth, non-empty prediction
    for kw in (
        dict(),
        dict(reduction="mean_batch", get_not_nans=True),
        dict(reduction="none", ignore_empty=False),
        dict(include_background=False, ignore_index=1),
    ):
        ours, theirs = dm.DiceMetric(per_component=True, **kw), mm.DiceMetric(per_component=True, **kw)
        for sl in (slice(0, 2), slice(2, 5)):
            np.testing.assert_allclose(ours(y_pred[sl], y[sl]), _np(theirs(ref(y_pred[sl]), ref(y[sl]))), **F32)
        for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (ours.aggregate(), theirs.aggregate()))):
            np.testing.assert_allclose(a, _np(b), **F32)
    a = dm.DiceHelper(apply_argmax=False, per_component=True)(y_pred, y)
    b = mm.DiceHelper(apply_argmax=False, per_component=True)(ref(y_pred), ref(y))
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, _np(v), **F32)


def test_monai_per_component_scores_and_ties():
    """Soft scores (the argmax, NaN included), components meeting diagonally (one component under
    full connectivity), voxels equidistant from two components (the Voronoi ties), the 0/1 cases
    of an empty ground truth, and the list form of the metric class."""
    mm = pytest.importorskip("monai.metrics")
    pytest.importorskip("scipy")
    from dice.compat import monai as dm

    rng = np.random.default_rng(8)
    x = rng.normal(size=(3, 2, 16, 15)).astype(np.float32)
    x[0, 1, 0, 0] = np.nan
    x[0, 0, 1, 1] = np.nan
    x[1, :, 2, 2] = np.nan
    gt = np.zeros((3, 16, 15), bool)
    gt[:, 2:4, 2:4] = True
    gt[:, 4, 4] = True  # diagonal neighbour: the same component
    gt[:, 2:4, 10:12] = True  # equidistant columns between the two components
    gt[:, 12:14, 2:4] = True
    gt[2] = False  # empty ground truth
    y = _two_channels(gt, np.float32)
    for ie in (True, False):
        np.testing.assert_allclose(
            dm.compute_dice(x, y, ignore_empty=ie, per_component=True),
            _np(mm.compute_dice(torch.from_numpy(x), torch.from_numpy(y), ignore_empty=ie, per_component=True)),
            **F32,
        )
    empty = np.zeros((1, 2, 5, 6), np.float32)
    empty[:, 0] = 1
    for ie in (True, False):
        ours = dm.compute_dice(empty, empty, ignore_empty=ie, per_component=True)
        theirs = _np(
            mm.compute_dice(torch.from_numpy(empty), torch.from_numpy(empty), ignore_empty=ie, per_component=True)
        )
        np.testing.assert_array_equal(ours, theirs)
    m, r = dm.DiceMetric(per_component=True), mm.DiceMetric(per_component=True)
    np.testing.assert_allclose(
        m(list(x), list(y)), _np(r([torch.from_numpy(a) for a in x], [torch.from_numpy(a) for a in y])), **F32
    )


def test_monai_per_component_many_regions():
    """More components than the library's confusion kernel has classes (the bincount branch):
    isolated voxels on every other row and column."""
    mm = pytest.importorskip("monai.metrics")
    pytest.importorskip("scipy")
    from dice.compat import monai as dm

    side = 2 * 182
    gt = np.zeros((1, side, 2 * side), bool)
    gt[:, ::2, ::2] = True  # 182 x 364 = 66248 components
    rng = np.random.default_rng(9)
    pred = gt ^ (rng.random(gt.shape) < 0.1)
    y_pred, y = _two_channels(pred, np.uint8), _two_channels(gt, np.uint8)
    np.testing.assert_allclose(
        dm.compute_dice(y_pred, y, per_component=True),
        _np(mm.compute_dice(torch.from_numpy(y_pred), torch.from_numpy(y), per_component=True)),
        **F32,
    )


@pytest.mark.parametrize(
    "shapes", [((2, 3, 5, 6),) * 2, ((2, 2, 7),) * 2, ((2, 2, 3, 4, 5, 2),) * 2, ((2, 1, 5, 6), (2, 2, 5, 6))]
)
def test_monai_per_component_shapes_raise(shapes):
    mm = pytest.importorskip("monai.metrics")
    from dice.compat import monai as dm

    a, b = (np.zeros(s, np.float32) for s in shapes)
    with pytest.raises(dice.ShapeError, match="per_component"):
        dm.compute_dice(a, b, per_component=True)
    with pytest.raises(ValueError, match="per_component"):
        mm.compute_dice(torch.from_numpy(a), torch.from_numpy(b), per_component=True)
    x = np.zeros((2, 2, 5, 6), np.float32)
    with pytest.raises(dice.ShapeError):  # the argmax leaves one channel
        dm.DiceHelper(per_component=True)(x, x)
    with pytest.raises(ValueError):
        mm.DiceHelper(per_component=True)(torch.from_numpy(x), torch.from_numpy(x))
    with pytest.raises(dice.OptionError):  # a bool prediction, whose argmax torch rejects
        dm.DiceHelper(threshold=True, per_component=True)(x, x)
    with pytest.raises(NotImplementedError):
        mm.DiceHelper(threshold=True, per_component=True)(torch.from_numpy(x), torch.from_numpy(x))


def test_monai_per_component_upstream_case():
    """MONAI's own per-component cases (tests/metrics/test_compute_meandice.py TEST_CASE_16 and
    test_input_dimensions), compared with the installed MONAI: two 5^3 cubes in a 64^3 volume,
    each predicted shifted; four items with all-zero channels (an empty ground truth)."""
    mm = pytest.importorskip("monai.metrics")
    pytest.importorskip("scipy")
    from dice.compat import monai as dm

    y, y_hat = np.zeros((5, 2, 64, 64, 64), np.float32), np.zeros((5, 2, 64, 64, 64), np.float32)
    y[0, 1, 20:25, 20:25, 20:25] = 1
    y[0, 1, 40:45, 40:45, 40:45] = 1
    y[0, 0] = 1 - y[0, 1]
    y_hat[0, 1, 21:26, 21:26, 21:26] = 1
    y_hat[0, 1, 41:46, 39:44, 41:46] = 1
    y_hat[0, 0] = 1 - y_hat[0, 1]
    ours, theirs = dm.DiceMetric(per_component=True), mm.DiceMetric(per_component=True)
    ours(y_pred=y_hat, y=y)
    theirs(y_pred=torch.from_numpy(y_hat), y=torch.from_numpy(y))
    np.testing.assert_allclose(ours.aggregate(reduction="none"), _np(theirs.aggregate(reduction="none")), **F32)
    a, b = np.ones((3, 3, 144, 144), np.float32), np.ones((3, 3, 145, 145), np.float32)
    with pytest.raises(dice.ShapeError):
        dm.DiceMetric(per_component=True)(a, b)
    with pytest.raises(ValueError):
        mm.DiceMetric(per_component=True)(torch.from_numpy(a), torch.from_numpy(b))


# ----------------------------------------------------- MONAI overlap losses on (B, C) inputs

ml = None


def _monai_loss(name, kwargs, x, t):
    """The installed MONAI's value and d(sum of value)/d(input), float64 (the DiceCELoss weight as
    a tensor, which torch's CrossEntropyLoss requires)."""
    global ml
    ml = ml or pytest.importorskip("monai.losses")
    kw = dict(kwargs)
    if name == "DiceCELoss" and kw.get("weight") is not None:
        kw["weight"] = torch.as_tensor(kw["weight"], dtype=torch.float64)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    v = getattr(ml, name)(**kw)(xt, torch.from_numpy(t))
    v.sum().backward()
    return v.detach().numpy(), xt.grad.numpy()


BC_CASES = [
    ("DiceLoss", dict(softmax=True)),
    ("DiceLoss", dict(sigmoid=True, weight=[1.0, 2.0, 3.0])),
    ("DiceLoss", dict(sigmoid=True, weight=[1.0, 2.0, 3.0], reduction="none")),
    ("DiceLoss", dict(sigmoid=True, weight=2.0, reduction="sum")),
    ("DiceLoss", dict(softmax=True, jaccard=True, squared_pred=True, smooth_nr=0.0, smooth_dr=1e-3)),
    ("DiceLoss", dict(softmax=True, include_background=False, reduction="none")),
    ("DiceLoss", dict(softmax=True, include_background=False, weight=[2.0, 0.5], reduction="sum")),
    ("DiceLoss", dict(sigmoid=True, soft_label=True, reduction="none")),
    ("TverskyLoss", dict(sigmoid=True, reduction="none")),
    ("TverskyLoss", dict(sigmoid=True, reduction="sum", alpha=0.2, beta=0.9)),
    ("DiceCELoss", dict(softmax=True)),
    ("DiceCELoss", dict(sigmoid=True, reduction="sum", lambda_dice=0.7, lambda_ce=1.3)),
    ("DiceCELoss", dict(softmax=True, weight=[1.0, 2.0, 3.0])),
    ("DiceFocalLoss", dict(sigmoid=True)),
    ("DiceFocalLoss", dict(sigmoid=True, reduction="none", gamma=1.5)),
    ("DiceFocalLoss", dict(sigmoid=True, reduction="sum", weight=[0.5, 1.0, 2.0], lambda_dice=2.0)),
    ("DiceFocalLoss", dict(sigmoid=True, reduction="none", weight=[0.5, 1.0, 2.0])),
]


def _bc_tol(name):
    """MONAI's focal term rounds to float32 inside its float64 computation (see test_loss_compat)."""
    return dict(rtol=1e-5, atol=1e-10) if "Focal" in name else dict(rtol=1e-7, atol=1e-12)


BC_PARAMS = [
    (n, kw, t) for n, kw in BC_CASES for t in (("dense", "soft") if kw.get("soft_label") else ("dense", "labels"))
]


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize(
    "name, kwargs, target", BC_PARAMS, ids=[f"{n}-{i // 2}-{t}" for i, (n, _, t) in enumerate(BC_PARAMS)]
)
def test_monai_losses_without_spatial_axes(name, kwargs, batch, target):
    """(B, C) inputs: MONAI's value (one pooled score without batch=True), shape and gradient."""
    from dice.compat import monai as dmo

    rng = np.random.default_rng(zlib.crc32(f"{name}{kwargs}{batch}{target}".encode()))
    x = rng.standard_normal((5, 3))
    kw = dict(kwargs, batch=batch)
    if target == "labels":
        t = rng.integers(0, 3, size=(5, 1)).astype(np.float64)
        kw["to_onehot_y"] = True
    elif target == "soft":
        t = rng.random((5, 3))
    else:
        t = rng.integers(0, 2, size=(5, 3)).astype(np.float64)
    ref_value, ref_grad = _monai_loss(name, kw, x, t)
    value, grad = getattr(dmo, name)(**kw)(x, t, return_grad=True)
    assert np.shape(value) == ref_value.shape and grad.shape == x.shape
    np.testing.assert_allclose(value, ref_value, **_bc_tol(name))
    np.testing.assert_allclose(grad, ref_grad, **_bc_tol(name))


@pytest.mark.parametrize("ignore_index", [0, 2, -1])
@pytest.mark.parametrize("batch", [False, True])
def test_monai_dice_loss_without_spatial_axes_ignore_index(ignore_index, batch):
    from dice.compat import monai as dmo

    rng = np.random.default_rng(17 + ignore_index)
    x = rng.standard_normal((6, 3))
    labels = rng.integers(0, 3, size=(6, 1))
    labels[1, 0] = ignore_index if ignore_index >= 0 else 1
    onehot = np.eye(3)[labels[:, 0]]
    if ignore_index < 0:
        onehot[2] = 0  # an all-zero row: the sentinel's ignored voxel
    for t, extra in ((onehot, {}), (labels.astype(np.float64), dict(to_onehot_y=True))):
        if extra and ignore_index < 0:
            t = np.where(np.arange(6)[:, None] == 3, -1.0, t)  # a sentinel label
        kw = dict(softmax=True, batch=batch, ignore_index=ignore_index, **extra)
        ref_value, ref_grad = _monai_loss("DiceLoss", kw, x, t)
        value, grad = dmo.DiceLoss(**kw)(x, t, return_grad=True)
        np.testing.assert_allclose(value, ref_value, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-7, atol=1e-12)


def test_monai_losses_without_spatial_axes_errors():
    from dice.compat import monai as dmo

    global ml
    ml = ml or pytest.importorskip("monai.losses")
    x, t = np.zeros((2, 3)), np.zeros((2, 3))
    with pytest.raises(dice.NdimError):
        dmo.GeneralizedDiceLoss(softmax=True)(x, t)
    with pytest.raises(IndexError):
        ml.GeneralizedDiceLoss(softmax=True)(torch.from_numpy(x), torch.from_numpy(t))
    for w in ([1.0, 2.0], [1.0, -1.0, 2.0]):
        with pytest.raises(dice.WeightError):
            dmo.DiceLoss(sigmoid=True, weight=w)(x, t)
        with pytest.raises(ValueError):
            ml.DiceLoss(sigmoid=True, weight=w)(torch.from_numpy(x), torch.from_numpy(t))


def test_torch_losses_without_spatial_axes():
    """dice.torch's autograd path (the backward's upstream) on (B, C) inputs, against MONAI."""
    from dice import torch as dtorch

    global ml
    ml = ml or pytest.importorskip("monai.losses")
    rng = np.random.default_rng(21)
    x, t = rng.standard_normal((4, 3)), rng.integers(0, 2, size=(4, 3)).astype(np.float64)
    up = torch.from_numpy(rng.random(3))
    for kw in (
        dict(sigmoid=True, reduction="none", weight=[1.0, 2.0, 3.0]),
        dict(softmax=True, reduction="none"),
        dict(sigmoid=True, reduction="none", batch=True),
        dict(softmax=True, reduction="sum"),
    ):
        grads = []
        for mod in (dtorch, ml):
            xt = torch.from_numpy(x.copy()).requires_grad_()
            v = mod.DiceLoss(**kw)(xt, torch.from_numpy(t))
            (v * up).sum().backward() if v.ndim == 1 else (v * 1.7).sum().backward()
            grads.append((v.detach().numpy(), xt.grad.numpy()))
        np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(use_softmax=True),
        dict(ignore_index=1),
        dict(ignore_index=-1),
        dict(weight=[1.0, 2.0, 3.0], alpha=0.3),
        dict(weight=0.5, gamma=1.0),
    ],
    ids=["sigmoid", "softmax", "ignore-1", "ignore-sentinel", "weight-alpha", "scalar-weight"],
)
def test_monai_focal_without_spatial_axes(reduction, kwargs):
    """FocalLoss on (B, C): MONAI's "sum" averages over range(2, ndim), every axis there."""
    from dice.compat import monai as dmo

    rng = np.random.default_rng(23)
    x = rng.standard_normal((6, 3))
    t = np.eye(3)[rng.integers(0, 3, 6)]
    if kwargs.get("ignore_index") == -1:
        t[2] = 0  # an all-zero row: the sentinel's ignored item
    kw = dict(kwargs, reduction=reduction)
    ref_value, ref_grad = _monai_loss("FocalLoss", kw, x, t)
    value, grad = dmo.FocalLoss(**kw)(x, t, return_grad=True)
    np.testing.assert_allclose(value, ref_value, **_bc_tol("Focal"))
    np.testing.assert_allclose(grad, ref_grad, **_bc_tol("Focal"))


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("DiceLoss", {}),
        ("DiceCELoss", {}),
        ("DiceFocalLoss", dict(reduction="none")),
        ("TverskyLoss", dict(reduction="none")),
    ],
)
def test_monai_losses_without_spatial_axes_other_act(name, kwargs, batch):
    """other_act on (B, C) inputs: each part of the split loss takes MONAI's (B, C) path."""
    from dice.compat import monai as dmo

    rng = np.random.default_rng(29)
    x, t = rng.standard_normal((4, 3)), rng.integers(0, 2, size=(4, 3)).astype(np.float64)
    kw = dict(kwargs, batch=batch, other_act=lambda a: a * 0.25 + 0.5)
    ref_value, _ = _monai_loss(name, kw, x, t)
    value = getattr(dmo, name)(**kw)(x, t)
    assert np.shape(value) == ref_value.shape
    np.testing.assert_allclose(value, ref_value, **_bc_tol(name))
