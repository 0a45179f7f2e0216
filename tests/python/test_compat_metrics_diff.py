"""Differential tests: dice.compat.monai's metric functions and classes, and dice.compat.torchmetrics'
GeneralizedDiceScore, against the installed MONAI / torchmetrics on random one-hot inputs of every
mask dtype, 2-D and 3-D, with an empty ground-truth class, an empty predicted class, and anisotropic
spacing. The originals get float32 tensors of the same values; they compute in float32, hence the
tolerance."""

import warnings

import numpy as np
import pytest

from dice.compat import monai as dm
from dice.compat import torchmetrics as dtm

torch = pytest.importorskip("torch")
mm = pytest.importorskip("monai.metrics")

TOL = dict(rtol=1e-5, atol=1e-5, equal_nan=True)
DTYPES = [
    np.bool_,
    np.uint8,
    np.int8,
    np.int16,
    np.uint16,
    np.int32,
    np.uint32,
    np.int64,
    np.uint64,
    np.float32,
    np.float64,
]
SHAPES = {"2d": (2, 3, 17, 19), "3d": (2, 3, 9, 10, 11)}
SPACING = {"2d": (0.7, 1.9), "3d": (0.7, 1.3, 2.1)}
CM_NAMES = [
    "sensitivity",
    "specificity",
    "precision",
    "npv",
    "miss rate",
    "fall out",
    "fdr",
    "for",
    "prevalence threshold",
    "threat score",
    "accuracy",
    "balanced accuracy",
    "f1 score",
    "mcc",
    "fowlkes mallows index",
    "informedness",
    "markedness",
    "tpr",
    "csi",
    "youden",
]


def _onehot(rng, shape):
    """Random one-hot masks (uint8) built from smoothed noise (blobs, not salt and pepper); class 1
    of item 0 empty in the ground truth is arranged by the caller."""
    n, c, spatial = shape[0], shape[1], shape[2:]
    noise = rng.random((n, c, *spatial))
    for axis in range(2, noise.ndim):
        noise = (noise + np.roll(noise, 1, axis) + np.roll(noise, -1, axis)) / 3
    lab = noise.argmax(axis=1)
    return np.moveaxis(np.eye(c, dtype=np.uint8)[lab], -1, 1).copy()


def _pair(dim, seed=0):
    rng = np.random.default_rng(seed)
    p, g = _onehot(rng, SHAPES[dim]), _onehot(rng, SHAPES[dim])
    g[0, 1] = 0  # empty ground truth
    p[1, 2] = 0  # empty prediction
    return p, g


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32))


def _close(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    np.testing.assert_allclose(ours, theirs.astype(np.float64), **TOL)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("dim", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_mask_dtype(dim, dtype):
    p, g = _pair(dim)
    tp, tg = _t(p), _t(g)
    pd, gd = p.astype(dtype), g.astype(dtype)
    sp = SPACING[dim]
    _close(dm.compute_dice(pd, gd), mm.compute_dice(tp, tg))
    _close(dm.compute_iou(pd, gd, ignore_empty=False), mm.compute_iou(tp, tg, ignore_empty=False))
    _close(dm.compute_generalized_dice(pd, gd), mm.compute_generalized_dice(tp, tg))
    _close(dm.get_confusion_matrix(pd, gd), mm.get_confusion_matrix(tp, tg))
    _close(dm.compute_absolute_volume_difference(pd, gd), mm.compute_absolute_volume_difference(tp, tg))
    _close(dm.compute_hausdorff_distance(pd, gd, spacing=sp), mm.compute_hausdorff_distance(tp, tg, spacing=sp))
    _close(
        dm.compute_average_surface_distance(pd, gd, symmetric=True, spacing=sp),
        mm.compute_average_surface_distance(tp, tg, symmetric=True, spacing=sp),
    )
    _close(
        dm.compute_surface_dice(pd, gd, [1.1, 2.3], spacing=sp), mm.compute_surface_dice(tp, tg, [1.1, 2.3], spacing=sp)
    )
    for cls, kw in (
        (dm.HausdorffDistanceMetric, {}),
        (dm.SurfaceDistanceMetric, {}),
        (dm.SurfaceDiceMetric, dict(class_thresholds=[1.1, 2.3])),
    ):
        ours, theirs = cls(**kw), getattr(mm, cls.__name__)(**kw)
        _close(ours(pd, gd, spacing=sp), theirs(tp, tg, spacing=sp))
        _close(ours.aggregate(), theirs.aggregate())


@pytest.mark.parametrize("dim", SHAPES)
@pytest.mark.parametrize("ib", [True, False])
def test_overlap_functions(dim, ib):
    p, g = _pair(dim, 1)
    tp, tg = _t(p), _t(g)
    for ie in (True, False):
        _close(dm.compute_dice(p, g, ib, ie), mm.compute_dice(tp, tg, ib, ie))
        _close(dm.compute_iou(p, g, ib, ie), mm.compute_iou(tp, tg, ib, ie))
        _close(
            dm.compute_absolute_volume_difference(p, g, ib, ie), mm.compute_absolute_volume_difference(tp, tg, ib, ie)
        )
    for wt in ("square", "simple", "uniform"):
        for so in (True, False):
            _close(dm.compute_generalized_dice(p, g, ib, wt, so), mm.compute_generalized_dice(tp, tg, ib, wt, so))
    cm = dm.get_confusion_matrix(p, g, ib)
    _close(cm, mm.get_confusion_matrix(tp, tg, ib))
    for name in CM_NAMES:
        _close(dm.compute_confusion_matrix_metric(name, cm), mm.compute_confusion_matrix_metric(name, _t(cm)))
        _close(
            dm.compute_confusion_matrix_metric(name, cm[0, 0]), mm.compute_confusion_matrix_metric(name, _t(cm[0, 0]))
        )


def test_label_maps_and_float_labels():
    p, g = _pair("2d", 2)
    lp, lg = p.argmax(1)[:, None], g.argmax(1)[:, None]
    ref = mm.compute_dice(_t(lp), _t(lg), num_classes=3)
    _close(dm.compute_dice(lp.astype(np.float32), lg.astype(np.int16), num_classes=3), ref)
    _close(dm.compute_dice(p, lg.astype(np.float64)), mm.compute_dice(_t(p), _t(lg)))


@pytest.mark.parametrize("dim", SHAPES)
@pytest.mark.parametrize("ib", [True, False])
def test_surface_functions(dim, ib):
    p, g = _pair(dim, 3)
    tp, tg = _t(p), _t(g)
    sp = SPACING[dim]
    per_item = [list(sp), [1.5] * len(sp)]
    for spacing in (None, 2.0, sp, per_item):
        for pc in (None, 95):
            for d in (False, True):
                _close(
                    dm.compute_hausdorff_distance(p, g, ib, percentile=pc, directed=d, spacing=spacing),
                    mm.compute_hausdorff_distance(tp, tg, ib, percentile=pc, directed=d, spacing=spacing),
                )
        for s in (False, True):
            _close(
                dm.compute_average_surface_distance(p, g, ib, s, spacing=spacing),
                mm.compute_average_surface_distance(tp, tg, ib, s, spacing=spacing),
            )
        th = [1.1, 2.3, 0.5][: 3 if ib else 2]
        for sv in (False, True) if np.ndim(spacing) or spacing is None else (False,):  # MONAI's subvoxel path
            # needs a spacing per axis
            _close(
                dm.compute_surface_dice(p, g, th, ib, spacing=spacing, use_subvoxels=sv),
                mm.compute_surface_dice(tp, tg, th, ib, spacing=spacing, use_subvoxels=sv),
            )
    for metric in ("chessboard", "taxicab"):
        _close(dm.compute_hausdorff_distance(p, g, ib, metric), mm.compute_hausdorff_distance(tp, tg, ib, metric))


REDUCTIONS = ["none", "mean", "sum", "mean_batch", "sum_batch", "mean_channel", "sum_channel"]


def _run(ours, theirs, batches, **aggregate):
    for p, g in batches:
        _close(ours(p, g), theirs(_t(p), _t(g)))
    a, b = ours.aggregate(**aggregate), theirs.aggregate(**aggregate)
    if isinstance(b, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            if isinstance(y, tuple):
                _close(x[0], y[0])
                _close(x[1], y[1])
            else:
                _close(x, y)
    elif isinstance(b, tuple):
        _close(a[0], b[0])
        _close(a[1], b[1])
    else:
        _close(a, b)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_classes_aggregate(reduction):
    batches = [_pair("2d", 4), _pair("2d", 6)]
    for ib in (True, False):
        _run(dm.DiceMetric(ib, reduction, get_not_nans=True), mm.DiceMetric(ib, reduction, get_not_nans=True), batches)
        _run(dm.MeanIoU(ib, reduction, True, False), mm.MeanIoU(ib, reduction, True, False), batches)
        _run(
            dm.AbsoluteVolumeDifferenceMetric(ib, reduction, True),
            mm.AbsoluteVolumeDifferenceMetric(ib, reduction, True),
            batches,
        )
        _run(dm.GeneralizedDiceScore(ib, reduction), mm.GeneralizedDiceScore(ib, reduction), batches)
        _run(dm.FBetaScore(0.5, ib, reduction, True), mm.FBetaScore(0.5, ib, reduction, True), batches)
        for cs in (False, True):
            _run(
                dm.ConfusionMatrixMetric(ib, CM_NAMES[:6], cs, reduction, True),
                mm.ConfusionMatrixMetric(ib, CM_NAMES[:6], cs, reduction, True),
                batches,
            )
        _run(
            dm.ConfusionMatrixMetric(ib, "f1", False, reduction),
            mm.ConfusionMatrixMetric(ib, "f1", False, reduction),
            batches,
            compute_sample=True,
        )


def test_classification_confusion_matrix():
    rng = np.random.default_rng(7)
    p, g = rng.integers(0, 2, (6, 4)), rng.integers(0, 2, (6, 4))
    _run(
        dm.ConfusionMatrixMetric(metric_name=["f1", "mcc"], compute_sample=True),
        mm.ConfusionMatrixMetric(metric_name=["f1", "mcc"], compute_sample=True),
        [(p, g)],
    )


@pytest.mark.parametrize("labels", [True, ["bg", "liver", "tumour"]])
def test_return_with_label(labels):
    p, g = _pair("2d", 8)
    ib = not isinstance(labels, bool)  # keys label_1, label_2 without the background
    ours = dm.DiceMetric(include_background=ib, reduction="mean_batch", return_with_label=labels)
    theirs = mm.DiceMetric(include_background=ib, reduction="mean_batch", return_with_label=labels)
    ours(p, g)
    theirs(_t(p), _t(g))
    a, b = ours.aggregate(), theirs.aggregate()
    assert isinstance(a, dict) and a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], **TOL)


@pytest.mark.parametrize("dim", SHAPES)
@pytest.mark.parametrize(
    "fmt, dtype",
    [("one-hot", d) for d in (np.int64, np.int32, np.uint8, np.bool_, np.float32)]
    + [("index", d) for d in (np.int64, np.int32, np.uint8, np.float32)],
)
def test_torchmetrics_generalized_dice_dtypes(dim, dtype, fmt):
    tms = pytest.importorskip("torchmetrics.segmentation")
    p, g = _pair(dim, 9)
    if fmt == "index":
        p, g = p.argmax(1), g.argmax(1)
    pd, gd = p.astype(dtype), g.astype(np.int64)
    # torchmetrics one-hot encodes index maps with torch's one_hot, which takes int64 only: the
    # reference gets the int64 map, ours the map in `dtype`
    ref = pd if fmt == "one-hot" else p.astype(np.int64)
    for ib in (True, False):
        for pc in (False, True):
            ours = dtm.GeneralizedDiceScore(3, ib, pc, input_format=fmt)
            theirs = tms.GeneralizedDiceScore(3, ib, pc, input_format=fmt)
            _close(ours(pd, gd), theirs(torch.from_numpy(ref), torch.from_numpy(gd)))
            _close(ours.compute(), theirs.compute())


def test_empty_both_sides():
    z = np.zeros((1, 2, 6, 7), np.int64)
    tz = _t(z)
    _close(dm.compute_dice(z, z, ignore_empty=False), mm.compute_dice(tz, tz, ignore_empty=False))
    _close(dm.compute_dice(z, z), mm.compute_dice(tz, tz))
    _close(dm.compute_generalized_dice(z, z), mm.compute_generalized_dice(tz, tz))
    _close(dm.compute_hausdorff_distance(z, z), mm.compute_hausdorff_distance(tz, tz))
    _close(dm.compute_surface_dice(z, z, [1.0]), mm.compute_surface_dice(tz, tz, [1.0]))
    _close(
        dm.compute_surface_dice(z, z, [1.0], use_subvoxels=True),
        mm.compute_surface_dice(tz, tz, [1.0], use_subvoxels=True),
    )


@pytest.mark.parametrize("ignore_index", [0, 1, 2, 255, -1])
@pytest.mark.parametrize("ib", [True, False])
def test_ignore_index(ignore_index, ib):
    p, g = _pair("2d", 10)
    tp, tg = _t(p), _t(g)
    ii = dict(ignore_index=ignore_index)
    _close(dm.compute_dice(p, g.astype(np.int32), ib, **ii), mm.compute_dice(tp, tg, ib, **ii))
    _close(dm.compute_dice(p, g, ib, ignore_empty=False, **ii), mm.compute_dice(tp, tg, ib, ignore_empty=False, **ii))
    lp, lg = p.argmax(1)[:, None], g.argmax(1)[:, None]
    _close(dm.compute_dice(lp, lg, ib, num_classes=3, **ii), mm.compute_dice(_t(lp), _t(lg), ib, num_classes=3, **ii))
    for ie in (True, False):
        _close(dm.compute_iou(p, g, ib, ie, **ii), mm.compute_iou(tp, tg, ib, ie, **ii))
    _close(dm.get_confusion_matrix(p, g, ib, **ii), mm.get_confusion_matrix(tp, tg, ib, **ii))
    for so in (False, True):
        _close(
            dm.compute_generalized_dice(p, g, ib, sum_over_classes=so, **ii),
            mm.compute_generalized_dice(tp, tg, ib, sum_over_classes=so, **ii),
        )
    th = [1.1, 2.3, 0.7][: 3 if ib else 2]
    for sv in (False, True):
        _close(
            dm.compute_surface_dice(p, g, th, ib, use_subvoxels=sv, **ii),
            mm.compute_surface_dice(tp, tg, th, ib, use_subvoxels=sv, **ii),
        )
    _close(dm.compute_hausdorff_distance(p, g, ib, **ii), mm.compute_hausdorff_distance(tp, tg, ib, **ii))
    batches = [(p, g)]
    for name, kw in (
        ("DiceMetric", {}),
        ("MeanIoU", {}),
        ("GeneralizedDiceScore", {}),
        ("ConfusionMatrixMetric", dict(metric_name="accuracy")),
        ("HausdorffDistanceMetric", {}),
        ("SurfaceDistanceMetric", dict(symmetric=True)),
        ("SurfaceDiceMetric", dict(class_thresholds=th)),
    ):
        _run(
            getattr(dm, name)(include_background=ib, **ii, **kw),
            getattr(mm, name)(include_background=ib, **ii, **kw),
            batches,
        )


def _tm_inputs(fmt, dtype, dim, seed):
    p, g = _pair(dim, seed)
    if fmt == "index":
        return p.argmax(1).astype(dtype), g.argmax(1).astype(dtype)
    if fmt == "mixed":
        return p.astype(dtype), g.argmax(1).astype(np.int64)
    return p.astype(dtype), g.astype(dtype)


def _tm_ref(a):
    """torchmetrics one-hot encodes index maps with torch's one_hot, which takes int64 only."""
    return torch.from_numpy(a.astype(np.int64) if a.dtype.kind in "biu" else a)


@pytest.mark.parametrize("dim", SHAPES)
@pytest.mark.parametrize(
    "fmt, dtype",
    [
        ("one-hot", np.uint8),
        ("one-hot", np.int64),
        ("one-hot", np.float32),
        ("index", np.int64),
        ("index", np.int16),
        ("mixed", np.int32),
    ],
)
def test_torchmetrics_segmentation(dim, fmt, dtype):
    tms = pytest.importorskip("torchmetrics.segmentation")
    batches = [_tm_inputs(fmt, dtype, dim, s) for s in (11, 12)]
    variants = [
        (tms.DiceScore, dtm.DiceScore, dict(average=a, aggregation_level=lv, include_background=ib))
        for a in ("micro", "macro", "weighted", "none")
        for lv in ("samplewise", "global")
        for ib in (True, False)
    ]
    variants += [
        (tms.MeanIoU, dtm.MeanIoU, dict(per_class=pc, include_background=ib))
        for pc in (False, True)
        for ib in (True, False)
    ]
    for theirs_cls, ours_cls, kw in variants:
        theirs = theirs_cls(num_classes=3, input_format=fmt, **kw)
        ours = ours_cls(num_classes=3, input_format=fmt, **kw)
        for p, g in batches:
            _close(ours(p, g), theirs(_tm_ref(p), _tm_ref(g)))
        _close(ours.compute(), theirs.compute())


def _tm_square(fmt, dtype, seed, empty):
    """Square 2-D one-hot pairs (2, 3, 18, 18) in `fmt`: torchmetrics' Hausdorff distance takes 2-D
    images only, and places its distances correctly only when they are square (its pytorch
    distance transform indexes the flattened image with the row count); with `empty`, item 0 has
    no ground-truth class 1 and item 1 no predicted class 2."""
    rng = np.random.default_rng(seed)
    p, g = _onehot(rng, (2, 3, 18, 18)), _onehot(rng, (2, 3, 18, 18))
    if empty:
        g[0, 1] = 0
        p[1, 2] = 0
    if fmt == "index":
        return p.argmax(1).astype(dtype), g.argmax(1).astype(dtype)
    if fmt == "mixed":
        return p.astype(dtype), g.argmax(1).astype(np.int64)
    return p.astype(dtype), g.astype(dtype)


@pytest.mark.parametrize(
    "fmt, dtype",
    [("one-hot", np.uint8), ("one-hot", np.int64), ("one-hot", np.float32), ("index", np.int64), ("mixed", np.int32)],
)
def test_torchmetrics_hausdorff(fmt, dtype):
    tms = pytest.importorskip("torchmetrics.segmentation")
    tf = pytest.importorskip("torchmetrics.functional.segmentation")
    batches = [_tm_square(fmt, dtype, s, empty=False) for s in (16, 17)]  # finite values: the means compare
    for ib, d, sp, m in (
        (False, False, None, "euclidean"),
        (True, True, [0.7, 1.9], "euclidean"),
        (False, False, None, "taxicab"),
        (True, True, None, "chessboard"),
    ):
        kw = dict(include_background=ib, directed=d, spacing=sp, distance_metric=m)
        theirs = tms.HausdorffDistance(3, input_format=fmt, **kw)
        ours = dtm.HausdorffDistance(3, input_format=fmt, **kw)
        for p, g in batches:
            _close(ours(p, g), theirs(_tm_ref(p), _tm_ref(g)))
        assert np.isfinite(ours.compute())
        _close(ours.compute(), theirs.compute())
        p, g = _tm_square(fmt, dtype, 18, empty=True)  # inf where one side is empty
        _close(
            dtm.hausdorff_distance(p, g, 3, input_format=fmt, **kw),
            tf.hausdorff_distance(_tm_ref(p), _tm_ref(g), 3, input_format=fmt, **kw),
        )


@pytest.mark.parametrize("dim", SHAPES)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_kornia_mean_iou(dim, dtype):
    km = pytest.importorskip("kornia.metrics")
    from dice.compat import kornia_metrics as dk

    p, g = _pair(dim, 13)
    lp, lg = p.argmax(1), g.argmax(1)
    lp[0] = 0  # classes 1 and 2 absent from item 0's prediction
    for eps in (1e-6, 0.0):
        _close(
            dk.mean_iou(lp.astype(dtype), lg.astype(dtype), 3, eps),
            km.mean_iou(torch.from_numpy(lp), torch.from_numpy(lg), 3, eps),
        )
    _close(
        dk.mean_iou(lp.astype(dtype), lg.astype(dtype), 5), km.mean_iou(torch.from_numpy(lp), torch.from_numpy(lg), 5)
    )


@pytest.mark.parametrize("dim", SHAPES)
def test_dice_helper(dim):
    rng = np.random.default_rng(14)
    x = rng.normal(size=SHAPES[dim]).astype(np.float32)
    _, g = _pair(dim, 14)
    lg = g.argmax(1)[:, None]
    for kw in (
        dict(),
        dict(threshold=True),
        dict(threshold=True, activate=True),
        dict(apply_argmax=True),
        dict(apply_argmax=True, include_background=True, reduction="none", get_not_nans=False),
        dict(threshold=True, ignore_empty=False, reduction="mean"),
        dict(apply_argmax=True, ignore_index=1),
        dict(sigmoid=True),
        dict(softmax=True),
    ):
        for target in (g, lg):
            a, b = dm.DiceHelper(**kw)(x, target), mm.DiceHelper(**kw)(torch.from_numpy(x), _t(target))
            for u, v in zip(a, b) if isinstance(b, tuple) else ((a, b),):
                _close(u, v)
    lp = x.argmax(1)[:, None]
    _close(
        dm.DiceHelper(threshold=True, num_classes=3)(lp, g)[0],
        mm.DiceHelper(threshold=True, num_classes=3)(torch.from_numpy(lp), _t(g))[0],
    )


@pytest.mark.parametrize("dim", SHAPES)
@pytest.mark.parametrize(
    "fmt, dtype", [("one-hot", np.uint8), ("one-hot", np.float32), ("index", np.int64), ("mixed", np.int32)]
)
def test_torchmetrics_functional(dim, fmt, dtype):
    tf = pytest.importorskip("torchmetrics.functional.segmentation")
    p, g = _tm_inputs(fmt, dtype, dim, 15)
    tp, tg = _tm_ref(p), _tm_ref(g)
    for ib in (True, False):
        for pc in (False, True):
            _close(dtm.mean_iou(p, g, 3, ib, pc, fmt), tf.mean_iou(tp, tg, 3, ib, pc, fmt))
        for avg in ("micro", "macro", "weighted", "none"):
            for lv in ("samplewise", "global"):
                _close(dtm.dice_score(p, g, 3, ib, avg, fmt, lv), tf.dice_score(tp, tg, 3, ib, avg, fmt, lv))


@pytest.mark.parametrize("dim", SHAPES)
@pytest.mark.parametrize("ib", [True, False])
def test_subvoxel_surface_dice(dim, ib):
    """use_subvoxels=True against MONAI on random one-hot masks (item 0's ground truth and item
    1's prediction of a class empty), unit, anisotropic and per-item spacing. Tolerances: 0, exact
    grid distances and values 2^-30 below them (MONAI compares in float32: those admit the
    surfels at that distance), one beyond the ball test (the distance-transform path), and one
    whose float32 is +inf (then a class empty on one side gives 1, not 0)."""
    p, g = _pair(dim, 21)
    tp, tg = _t(p), _t(g)
    sp = SPACING[dim]
    kept = 3 if ib else 2
    diag = float(np.sqrt(sum(s * s for s in sp[:2])))
    tolerances = [
        [0.0, 1.0, 0.5],
        [sp[0], sp[1], diag],
        [sp[0] * (1 - 2.0**-30), sp[1] * (1 - 2.0**-30), 2.0],
        [8.0, 1.5, 6.5],
        [1e39, 1.0, 1e39],
    ]
    for spacing in (None, sp, [list(sp), [1.5] * len(sp)]):
        for th in tolerances:
            th = th[:kept]
            _close(
                dm.compute_surface_dice(p, g, th, ib, spacing=spacing, use_subvoxels=True),
                mm.compute_surface_dice(tp, tg, th, ib, spacing=spacing, use_subvoxels=True),
            )
    ours = dm.SurfaceDiceMetric([1.1, 0.7, 2.0][:kept], ib, use_subvoxels=True, get_not_nans=True)
    theirs = mm.SurfaceDiceMetric([1.1, 0.7, 2.0][:kept], ib, use_subvoxels=True, get_not_nans=True)
    _run(ours, theirs, [(p, g), (g, p)])


def test_subvoxel_surface_dice_empty_and_full():
    """use_subvoxels=True with an empty ground truth, an empty prediction, both empty, and masks
    touching or filling the whole grid, 2-D and 3-D."""
    for shape in ((1, 2, 7, 8), (1, 2, 5, 6, 4)):
        z, f = np.zeros(shape, np.uint8), np.ones(shape, np.uint8)
        blob = z.copy()
        blob[(0, 1, *(slice(0, 3),) * (len(shape) - 2))] = 1
        for a, b in ((z, blob), (blob, z), (z, z), (f, f), (f, blob), (blob, f)):
            for th in ([0.0, 1.0], [2.5, 1e39]):
                _close(
                    dm.compute_surface_dice(a, b, th, True, use_subvoxels=True),
                    mm.compute_surface_dice(_t(a), _t(b), th, True, use_subvoxels=True),
                )
