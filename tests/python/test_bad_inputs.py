"""Bad-input matrix: every public function of dice.losses / dice.metrics (and dice.torch, the
compat entry points where cheap) x bad arguments. Each row names the exact exception class and a
fragment of its message naming the offending argument, and checks that no array passed in was
modified by the failed call."""

import numpy as np
import pytest

import dice
from dice import metrics
from dice.compat import monai

RNG = np.random.default_rng(11)
X = RNG.normal(size=(2, 3, 4, 5))  # logits (N, C, H, W)
LAB = RNG.integers(0, 3, size=(2, 1, 4, 5))  # label map
MASK = np.eye(3, dtype=np.uint8)[LAB[:, 0]].transpose(0, 3, 1, 2).copy()  # one-hot masks
M2 = RNG.integers(0, 2, size=(6, 7)).astype(bool)  # 2-D binary mask
STATS = dice.dice_stats(X, LAB, softmax=True, to_onehot_y=True)
COUNTS = metrics.confusion(MASK, MASK)
SD = metrics.surface_distances(M2, ~M2, [1.0, 1.0])
HUGE = [2**40, 2**62, 2**64 + 1]


def _with(a, index, value):
    b = np.array(a, copy=True)
    b[index] = value
    return b


def _sd(**changes):
    return dict(SD, **changes)


# (id, function, positional args, keywords, exception class, fragment of the message)
ROWS = [
    # dice.dice_loss and friends: arrays
    ("loss-input-None", dice.dice_loss, (None, LAB), {}, dice.NullPointerError, "input"),
    ("loss-target-None", dice.dice_loss, (X, None), {}, dice.NullPointerError, "target"),
    ("loss-input-int", dice.dice_loss, (X.astype(np.int32), LAB), {}, dice.DtypeError, "input"),
    ("loss-input-complex", dice.dice_loss, (X.astype(complex), LAB), {}, dice.DtypeError, "input"),
    ("loss-input-object", dice.dice_loss, (np.array([[None]]), LAB), {}, dice.DtypeError, "input"),
    ("loss-input-0d", dice.dice_loss, (np.float64(1.0), LAB), {}, dice.NdimError, "input"),
    ("loss-input-huge-ndim", dice.dice_loss, (np.zeros((1,) * 32), np.zeros((1,) * 32)), {}, dice.NdimError, "input"),
    (
        "loss-input-N0",
        dice.dice_loss,
        (np.zeros((0, 3, 4, 5)), np.zeros((0, 1, 4, 5), np.int64)),
        dict(to_onehot_y=True),
        dice.ShapeError,
        "input",
    ),
    ("loss-input-C0", dice.dice_loss, (np.zeros((2, 0, 4, 5)), np.zeros((2, 0, 4, 5))), {}, dice.ShapeError, "input"),
    ("loss-target-shape", dice.dice_loss, (X, LAB[..., :4]), dict(to_onehot_y=True), dice.ShapeError, "target"),
    ("loss-label-high", dice.dice_loss, (X, LAB + 1), dict(to_onehot_y=True), dice.LabelError, "label 3"),
    ("loss-label-negative", dice.dice_loss, (X, LAB - 1), dict(to_onehot_y=True), dice.LabelError, "label -1"),
    ("loss-label-nonintegral", dice.dice_loss, (X, LAB + 0.5), dict(to_onehot_y=True), dice.LabelError, "non-integral"),
    # options
    ("loss-reduction", dice.dice_loss, (X, LAB), dict(reduction="avg"), dice.OptionError, "reduction"),
    ("loss-sigmoid-softmax", dice.dice_loss, (X, LAB), dict(sigmoid=True, softmax=True), dice.OptionError, "sigmoid"),
    ("loss-flag", dice.dice_loss, (X, LAB), dict(batch=2), dice.OptionError, "batch"),
    (
        "loss-weight-nan",
        dice.dice_loss,
        (X, LAB),
        dict(to_onehot_y=True, weight=[1, np.nan, 1]),
        dice.WeightError,
        "weight",
    ),
    (
        "loss-weight-negative",
        dice.dice_loss,
        (X, LAB),
        dict(to_onehot_y=True, weight=[1, -1, 1]),
        dice.WeightError,
        "weight",
    ),
    ("loss-weight-length", dice.dice_loss, (X, LAB), dict(to_onehot_y=True, weight=[1, 1]), dice.WeightError, "weight"),
    (
        "loss-smooth-negative",
        dice.dice_loss,
        (X, LAB),
        dict(to_onehot_y=True, smooth_dr=-1.0),
        dice.OptionError,
        "smooth_dr",
    ),
    (
        "loss-ignore-float",
        dice.dice_loss,
        (X, LAB),
        dict(to_onehot_y=True, ignore_index=1.5),
        dice.DtypeError,
        "ignore_index",
    ),
    *[
        (
            f"loss-ignore-{v}",
            dice.dice_loss,
            (X, LAB),
            dict(to_onehot_y=True, ignore_index=v),
            dice.LimitError,
            "ignore_index",
        )
        for v in (2**63, 2**64 + 1, -(2**63) - 1)
    ],
    ("loss-classes-negative", dice.loss, (X, LAB), dict(to_onehot_y=True, classes=[-1]), dice.LimitError, "classes"),
    ("loss-classes-huge", dice.loss, (X, LAB), dict(to_onehot_y=True, classes=[2**40]), dice.LimitError, "classes"),
    ("loss-classes-float", dice.loss, (X, LAB), dict(to_onehot_y=True, classes=[1.5]), dice.DtypeError, "classes"),
    ("loss-unknown-option", dice.loss, (X, LAB), dict(to_onehot_y=True, bogus=1), TypeError, "bogus"),
    ("loss-overlap", dice.loss, (X, LAB), dict(to_onehot_y=True, overlap="cosine"), dice.OptionError, "overlap"),
    # loss masks
    *[
        (
            f"loss-mask-{name}",
            dice.dice_loss,
            (X, LAB),
            dict(to_onehot_y=True, loss_mask=_with(np.ones((2, 1, 4, 5)), (0, 0, 1, 1), v)),
            cls,
            "loss_mask",
        )
        for name, v, cls in (
            ("nan", np.nan, dice.WeightError),
            ("inf", np.inf, dice.WeightError),
            ("negative", -1.0, dice.WeightError),
        )
    ],
    (
        "loss-mask-shape",
        dice.dice_loss,
        (X, LAB),
        dict(to_onehot_y=True, loss_mask=np.ones((2, 1, 4, 4))),
        dice.ShapeError,
        "loss_mask",
    ),
    # three-step API
    ("stats-shape", dice.dice_finalize, (STATS[:, :, :2],), {}, dice.OptionError, "stats"),
    (
        "backward-stats-classes",
        dice.dice_backward_from_stats,
        (X, LAB, STATS[:, :2]),
        dict(softmax=True, to_onehot_y=True),
        dice.LengthError,
        "stats",
    ),
    ("ramp-kind", dice.ramp, ("step", 0.0, 1.0, 10, 1), {}, dice.OptionError, "kind"),
    ("ramp-steps-negative", dice.ramp, ("linear", 0.0, 1.0, -1, 1), {}, dice.LimitError, "steps"),
    ("ramp-step-huge", dice.ramp, ("linear", 0.0, 1.0, 10, 2**64), {}, dice.LimitError, "step"),
    ("ramp-step-float", dice.ramp, ("linear", 0.0, 1.0, 10, 1.5), {}, dice.DtypeError, "step"),
    # the MONAI functional forms
    ("focal-gamma-negative", monai.focal_loss, (X, LAB), dict(to_onehot_y=True, gamma=-1.0), dice.OptionError, "gamma"),
    (
        "focal-alpha-length",
        monai.focal_loss,
        (X, LAB),
        dict(to_onehot_y=True, alpha=[0.1, 0.5]),
        dice.WeightError,
        "2 values",
    ),
    (
        "focal-weight-negative",
        monai.focal_loss,
        (X, LAB),
        dict(to_onehot_y=True, weight=[1, -1, 1]),
        dice.WeightError,
        "weight",
    ),
    (
        "tversky-ignore-huge",
        monai.tversky_loss,
        (X, LAB),
        dict(to_onehot_y=True, ignore_index=2**64 + 1),
        dice.LimitError,
        "ignore_index",
    ),
    # dice.metrics
    ("confusion-None", metrics.confusion, (None, MASK), {}, dice.NullPointerError, "y_pred"),
    ("confusion-shape", metrics.confusion, (MASK, MASK[..., :4]), {}, dice.ShapeError, "gt"),  # the C name of y
    pytest.param(
        "confusion-labels-range", metrics.confusion, (LAB + 1, LAB), dict(num_classes=3), dice.LabelError, "pred"
    ),
    ("confusion-classes-negative", metrics.confusion, (LAB, LAB), dict(num_classes=-1), dice.LimitError, "num_classes"),
    *[
        (f"confusion-classes-{v}", metrics.confusion, (LAB, LAB), dict(num_classes=v), dice.LimitError, "num_classes")
        for v in HUGE
    ],
    ("confusion-classes-float", metrics.confusion, (LAB, LAB), dict(num_classes=3.0), dice.DtypeError, "num_classes"),
    ("confusion-kind", metrics.confusion, (MASK, MASK), dict(pred_kind="soft"), dice.OptionError, "y_pred"),
    ("confusion-float-masks", metrics.confusion, (MASK * 0.5, MASK), {}, dice.DtypeError, "y_pred"),
    ("overlap-counts-None", metrics.overlap_metric, (None,), {}, dice.NullPointerError, "counts"),
    ("overlap-counts-negative", metrics.overlap_metric, (COUNTS.astype(np.int64) - 1,), {}, dice.LimitError, "counts"),
    ("overlap-counts-fraction", metrics.overlap_metric, (COUNTS + 0.5,), {}, dice.DtypeError, "counts"),
    (
        "overlap-counts-nan",
        metrics.overlap_metric,
        (_with(COUNTS.astype(float), (0, 0, 0), np.nan),),
        {},
        dice.DtypeError,
        "counts",
    ),
    ("overlap-counts-huge", metrics.overlap_metric, (COUNTS * 1e30,), {}, dice.LimitError, "counts"),
    ("overlap-counts-shape", metrics.overlap_metric, (COUNTS[..., :3],), {}, dice.OptionError, "counts"),
    ("overlap-counts-str", metrics.overlap_metric, (COUNTS.astype(str),), {}, dice.DtypeError, "counts"),
    ("overlap-metric", metrics.overlap_metric, (COUNTS, "f1"), {}, dice.OptionError, "metric"),
    ("gds-counts-negative", metrics.generalized_dice_score, (-COUNTS.astype(np.int64),), {}, dice.LimitError, "counts"),
    ("reduce-values-1d", metrics.reduce_metric, (np.ones(3),), {}, dice.OptionError, "values"),
    ("reduce-reduction", metrics.reduce_metric, (np.ones((2, 3)), "median"), {}, dice.OptionError, "reduction"),
    ("edt-None", metrics.distance_transform, (None,), {}, dice.NullPointerError, "mask"),
    ("edt-metric", metrics.distance_transform, (M2,), dict(metric="cosine"), dice.OptionError, "metric"),
    *[
        (f"edt-spacing-{v}", metrics.distance_transform, (M2,), dict(spacing=v), cls, "spacing")
        for v, cls in (
            (0.0, dice.OptionError),
            (-1.0, dice.OptionError),
            (np.nan, dice.NotANumberError),
            (np.inf, dice.OptionError),
        )
    ],
    (
        "edt-spacing-length",
        metrics.distance_transform,
        (M2,),
        dict(spacing=[1.0, 1.0, 1.0]),
        dice.ShapeError,
        "spacing",
    ),
    ("surface-kind", metrics.surface_metric, (MASK, MASK, "chamfer"), {}, dice.OptionError, "kind"),
    (
        "surface-spacing-nan",
        metrics.surface_metric,
        (MASK, MASK, "hausdorff"),
        dict(spacing=np.nan),
        dice.NotANumberError,
        "spacing",
    ),
    (
        "surface-spacing-zero",
        metrics.surface_metric,
        (MASK, MASK, "hausdorff"),
        dict(spacing=0.0),
        dice.OptionError,
        "spacing",
    ),
    *[
        (
            f"surface-classes-{v}",
            metrics.surface_metric,
            (LAB, LAB, "hausdorff"),
            dict(num_classes=v),
            dice.LimitError,
            "num_classes",
        )
        for v in HUGE
    ],
    (
        "surface-percentile",
        metrics.surface_metric,
        (MASK, MASK, "hausdorff"),
        dict(percentile=101.0),
        dice.OptionError,
        "percentile",
    ),
    ("sdm-classes-huge", metrics.signed_distance_maps, (LAB,), dict(num_classes=2**62), dice.LimitError, "num_classes"),
    ("boundary-phi-shape", metrics.boundary_loss, (X, X[..., :4]), {}, dice.ShapeError, "phi"),
    ("boundary-phi-None", metrics.boundary_loss, (X, None), {}, dice.NullPointerError, "phi"),
    ("surfdist-spacing-length", metrics.surface_distances, (M2, M2, [1.0]), {}, dice.ShapeError, "spacing"),
    ("surfdist-shape", metrics.surface_distances, (M2, M2[:, :6], [1.0, 1.0]), {}, dice.ShapeError, "mask_pred"),
    (
        "sdmetric-areas-short",
        metrics.surface_distance_metric,
        (_sd(surfel_areas_gt=SD["surfel_areas_gt"][:-1]), "average_surface_distance"),
        {},
        dice.LengthError,
        "surfel_areas_gt",
    ),
    (
        "sdmetric-areas-long",
        metrics.surface_distance_metric,
        (_sd(surfel_areas_pred=np.ones(SD["distances_pred_to_gt"].size + 5)), "surface_dice", 1.0),
        {},
        dice.LengthError,
        "surfel_areas_pred",
    ),
    (
        "sdmetric-2d",
        metrics.surface_distance_metric,
        (_sd(distances_gt_to_pred=SD["distances_gt_to_pred"][None]), "robust_hausdorff", 95.0),
        {},
        dice.OptionError,
        "distances_gt_to_pred",
    ),
    (
        "sdmetric-None",
        metrics.surface_distance_metric,
        (_sd(surfel_areas_gt=None), "surface_dice", 1.0),
        {},
        dice.NullPointerError,
        "surfel_areas_gt",
    ),
    ("sdmetric-kind", metrics.surface_distance_metric, (SD, "hd"), {}, dice.OptionError, "kind"),
    ("surface-0d", metrics.surface_metric, (np.uint8(1), np.uint8(1), "hausdorff"), {}, dice.NdimError, "y_pred"),
    ("sdm-0d", metrics.signed_distance_maps, (np.uint8(1),), {}, dice.NdimError, "y"),
    ("sdm-1d", metrics.signed_distance_maps, (np.ones(3, np.uint8),), {}, dice.NdimError, "y"),
    ("confusion-0d", metrics.confusion, (np.uint8(1), np.uint8(1)), {}, dice.NdimError, "pred"),
    ("confusion-huge-ndim", metrics.confusion, (np.ones((1,) * 30, np.uint8),) * 2, {}, dice.NdimError, "pred"),
    ("edt-0d", metrics.distance_transform, (np.array(True),), {}, dice.NdimError, "mask"),
    ("edt-huge-ndim", metrics.distance_transform, (np.ones((1,) * 8, bool),), {}, dice.NdimError, "mask"),
    ("boundary-0d", metrics.boundary_loss, (np.float64(1.0), np.float64(1.0)), {}, dice.NdimError, "input"),
    (
        "backward-upstream-length",
        dice.dice_backward_from_stats,
        (X, LAB, STATS),
        dict(to_onehot_y=True, softmax=True, reduction="none", upstream=np.ones(7)),
        dice.LengthError,
        "upstream",
    ),
    ("confusion-labels-need-classes", metrics.confusion, (LAB, LAB), {}, dice.OptionError, "classes"),
    pytest.param(
        "sdmetric-areas-inf",
        metrics.surface_distance_metric,
        (_sd(surfel_areas_gt=_with(SD["surfel_areas_gt"], 0, np.inf)), "surface_dice", 1.0),
        {},
        dice.OptionError,
        "surfel_areas_gt",
    ),
    # compat entry points
    ("monai-DiceLoss-reduction", monai.DiceLoss, (), dict(reduction="avg"), dice.OptionError, "reduction"),
    (
        "monai-DiceMetric-classes",
        lambda: monai.DiceMetric(num_classes=2**64 + 1)(LAB, LAB),
        (),
        {},
        dice.LimitError,
        "num_classes",
    ),
]


def _arrays(obj):
    """Every numpy array reachable in args/kwargs (lists, tuples, dict values)."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _arrays(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _arrays(o)


def _param(row):
    """A row, or pytest.param(row..., marks=...) for a row that exposes a library bug."""
    if hasattr(row, "marks"):
        return pytest.param(*row.values[1:], id=row.values[0], marks=row.marks)
    return pytest.param(*row[1:], id=row[0])


@pytest.mark.parametrize("fn, args, kwargs, cls, fragment", [_param(r) for r in ROWS])
def test_bad_input(fn, args, kwargs, cls, fragment):
    before = [(a, a.copy()) for a in _arrays((args, kwargs)) if a.dtype.kind != "O"]
    with pytest.raises(cls) as info:
        fn(*args, **kwargs)
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert fragment in str(info.value), f"the message does not name {fragment!r}: {info.value}"
    for a, copy in before:
        assert np.array_equal(a, copy, equal_nan=a.dtype.kind in "fc"), "a failed call modified an argument"


@pytest.mark.parametrize(
    "n, cls",
    [
        (2**40, dice.LimitError),
        (2**64 + 1, dice.LimitError),
        (-1, dice.LimitError),
        (1.5, dice.DtypeError),
        (True, dice.DtypeError),
        (1025, dice.ThreadPoolError),
        (2**32 - 1, dice.ThreadPoolError),
    ],
)
def test_bad_thread_count(n, cls):
    before = dice.get_num_threads()
    with pytest.raises(cls) as info:
        dice.set_num_threads(n)
    assert type(info.value) is cls and ("n = " in str(info.value) or cls is dice.ThreadPoolError), info.value
    assert dice.get_num_threads() == before


@pytest.mark.parametrize("spacing", [1e300, 1e-300])
def test_extreme_spacing_scales_distances(spacing):
    """Distances scale with the spacing: every representable product must come out exact."""
    unit = metrics.distance_transform(~M2)
    np.testing.assert_allclose(metrics.distance_transform(~M2, spacing=spacing), unit * spacing, rtol=1e-12)


def test_huge_spacing_surface_metric_does_not_abort():
    """In a child process limited to 3 GB of address space: a result or a DiceError, never an abort."""
    import resource
    import subprocess
    import sys

    code = (
        "import numpy as np, dice\nfrom dice import metrics\n"
        "m = np.zeros((6, 7), bool); m[2:4, 2:5] = True\n"
        "try:\n    metrics.surface_metric(m[None, None], np.roll(m, 1)[None, None], 'hausdorff', "
        "include_background=True, spacing=1e300)\nexcept dice.DiceError:\n    pass\n"
    )
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # noqa: E731
    done = subprocess.run([sys.executable, "-c", code], preexec_fn=limit, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]
