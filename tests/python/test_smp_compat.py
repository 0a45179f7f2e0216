"""dice.compat.smp's FocalLoss, SoftBCEWithLogitsLoss, SoftCrossEntropyLoss, MCCLoss and
losses._functional against the installed smp 0.6 on random inputs: 2-D and 3-D, every mode,
ignore_index, smoothing, soft targets, classes absent from the batch; values and gradients (torch
autograd through smp).

Tolerances: float64 throughout, rtol 1e-9 / atol 1e-12 (both sides evaluate the same float64
formulas; the differences seen are a few ulp of the sums).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
smp_ref = pytest.importorskip("segmentation_models_pytorch.losses")
ref_fn = pytest.importorskip("segmentation_models_pytorch.losses._functional")

import dice  # noqa: E402
from dice.compat import smp  # noqa: E402

SPATIAL = {"2d": (4, 5), "3d": (3, 4, 5)}
TOL = dict(rtol=1e-9, atol=1e-12)


def _ref(make, x, y, **kw):
    """smp's value and d(sum value)/dx through autograd."""
    xt = torch.from_numpy(x.copy()).requires_grad_()
    value = make(xt, torch.from_numpy(y), **kw)
    value.sum().backward()
    return value.detach().numpy(), xt.grad.numpy()


def _check(ours, theirs):
    (v, g), (rv, rg) = ours, theirs
    assert np.shape(v) == np.shape(rv)
    np.testing.assert_allclose(v, rv, **TOL)
    np.testing.assert_allclose(g, rg, **TOL)


def _labels(rng, shape, classes, absent=None):
    lab = rng.integers(0, classes, size=shape)
    if absent is not None:  # a class absent from the whole batch
        lab[lab == absent] = (absent + 1) % classes
    return lab


# ---- losses._functional scores -----------------------------------------------------------------


@pytest.mark.parametrize("dims", [None, (0, 2), (2,), (1,), 0, (-1,), (0, 1, 2)])
@pytest.mark.parametrize("target", ["binary", "soft", "outside_unit"])
@pytest.mark.parametrize("name", ["soft_dice_score", "soft_jaccard_score", "soft_tversky_score"])
def test_functional_scores(name, target, dims):
    rng = np.random.default_rng(1)
    p = rng.random((2, 3, 20))
    t = (rng.random(p.shape) > 0.5).astype(np.float64)
    if target == "soft":
        t = rng.random(p.shape)
    elif target == "outside_unit":
        p = rng.standard_normal(p.shape)
    t[:, 2] = 0.0  # a class with empty ground truth
    kw = dict(alpha=0.3, beta=0.7) if name == "soft_tversky_score" else {}
    ours = getattr(smp.losses._functional, name)(p, t, smooth=0.5, eps=1e-7, dims=dims, **kw)
    ref = getattr(ref_fn, name)(torch.from_numpy(p), torch.from_numpy(t), smooth=0.5, eps=1e-7, dims=dims, **kw)
    assert np.shape(ours) == tuple(ref.shape)
    np.testing.assert_allclose(ours, ref.numpy(), **TOL)


def test_functional_score_eps_clamps_empty():
    p = np.zeros((1, 2, 6))
    ours = smp.losses._functional.soft_dice_score(p, p, eps=1e-3, dims=(0, 2))
    ref = ref_fn.soft_dice_score(torch.from_numpy(p), torch.from_numpy(p), eps=1e-3, dims=(0, 2))
    np.testing.assert_array_equal(ours, ref.numpy())


def test_functional_score_shape_mismatch_raises():
    with pytest.raises(dice.DiceError):
        smp.losses._functional.soft_dice_score(np.zeros((2, 3)), np.zeros((3, 2)))


# ---- losses._functional focal terms ------------------------------------------------------------

FOCAL_FN = [
    dict(),
    dict(alpha=None),
    dict(gamma=0.5),
    dict(normalized=True),
    dict(reduced_threshold=0.4),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(reduction="batchwise_mean"),
    dict(normalized=True, reduced_threshold=0.3, reduction="sum"),
]


@pytest.mark.parametrize("kw", FOCAL_FN, ids=str)
@pytest.mark.parametrize("soft", [False, True])
def test_focal_loss_with_logits(kw, soft):
    rng = np.random.default_rng(2)
    x = 2 * rng.standard_normal((3, 4, 5))
    t = rng.random(x.shape) if soft else (rng.random(x.shape) > 0.6).astype(np.float64)
    ours = smp.losses._functional.focal_loss_with_logits(x, t, return_grad=True, **kw)
    _check(ours, _ref(ref_fn.focal_loss_with_logits, x, t, **kw))


@pytest.mark.parametrize("kw", [k for k in FOCAL_FN if "alpha" not in k], ids=str)
@pytest.mark.parametrize("dim", ["none", *SPATIAL])
def test_softmax_focal_loss_with_logits(kw, dim):
    rng = np.random.default_rng(3)
    spatial = () if dim == "none" else SPATIAL[dim]
    x = 2 * rng.standard_normal((2, 4, *spatial))
    y = _labels(rng, (2, *spatial), 4, absent=1)
    ours = smp.losses._functional.softmax_focal_loss_with_logits(x, y, return_grad=True, **kw)
    _check(ours, _ref(ref_fn.softmax_focal_loss_with_logits, x, y, **kw))


# ---- FocalLoss ---------------------------------------------------------------------------------

FOCAL = [
    dict(),
    dict(alpha=0.25),
    dict(gamma=0.5),
    dict(normalized=True),
    dict(reduced_threshold=0.5),
    dict(reduction="sum"),
    dict(from_logits=False),
    dict(from_logits=False, eps=0.05),
]


def _focal_inputs(mode, dim, rng, soft=False, ignore=None):
    shape = (2, 3, *SPATIAL[dim])
    x = 2 * rng.standard_normal(shape)
    if mode == "multiclass":
        y = _labels(rng, (2, *SPATIAL[dim]), 3, absent=2)
    else:
        y = rng.random(shape) if soft else (rng.random(shape) > 0.5).astype(np.float64)
        if mode == "binary":
            x, y = x[:, :1], y[:, :1]
    if ignore is not None:
        y = np.where(rng.random(y.shape) < 0.2, ignore, y)
    return x, y


@pytest.mark.parametrize("kw", FOCAL, ids=str)
@pytest.mark.parametrize("dim", list(SPATIAL))
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
def test_focal_loss(mode, dim, kw):
    rng = np.random.default_rng(4)
    x, y = _focal_inputs(mode, dim, rng)
    if kw.get("from_logits") is False:
        x = 1 / (1 + np.exp(-x))
        x.reshape(-1)[:3] = [0.0, 1.0, 0.01]  # values the clamp moves
    ours = smp.FocalLoss(mode, **kw)(x, y, return_grad=True)
    _check(ours, _ref(smp_ref.FocalLoss(mode, **kw), x, y))


@pytest.mark.parametrize("kw", [dict(), dict(normalized=True), dict(reduction="sum")], ids=str)
@pytest.mark.parametrize("mode", ["binary", "multiclass"])
def test_focal_loss_ignore_index(mode, kw):
    rng = np.random.default_rng(5)
    x, y = _focal_inputs(mode, "2d", rng, ignore=-1)
    ours = smp.FocalLoss(mode, ignore_index=-1, **kw)(x, y, return_grad=True)
    _check(ours, _ref(smp_ref.FocalLoss(mode, ignore_index=-1, **kw), x, y))
    g = ours[1]
    ignored = (y == -1) if mode == "binary" else np.broadcast_to((y == -1)[:, None], x.shape)
    assert np.all(g[ignored] == 0) and np.any(g[~ignored] != 0)


@pytest.mark.parametrize("kw", [dict(), dict(reduced_threshold=0.5), dict(normalized=True)], ids=str)
def test_focal_loss_soft_targets(kw):
    rng = np.random.default_rng(6)
    x, y = _focal_inputs("multilabel", "3d", rng, soft=True)
    _check(smp.FocalLoss("multilabel", **kw)(x, y, return_grad=True), _ref(smp_ref.FocalLoss("multilabel", **kw), x, y))


@pytest.mark.parametrize("mode", ["multiclass", "multilabel"])
def test_focal_loss_class_weights(mode):
    rng = np.random.default_rng(7)
    x, y = _focal_inputs(mode, "2d", rng)
    w = [0.5, 2.0, 1.0]
    _check(
        smp.FocalLoss(mode, class_weights=w)(x, y, return_grad=True),
        _ref(smp_ref.FocalLoss(mode, class_weights=w), x, y),
    )


def test_focal_loss_rejects():
    with pytest.raises(dice.DiceError):
        smp.FocalLoss("binary", class_weights=[1.0])
    with pytest.raises(dice.DiceError):
        smp.FocalLoss("other")
    x, y = _focal_inputs("multilabel", "2d", np.random.default_rng(8))
    with pytest.raises(dice.DiceError):  # smp fails indexing each class with the (B, C, ...) mask
        smp.FocalLoss("multilabel", ignore_index=-1)(x, y)
    with pytest.raises(IndexError):
        smp_ref.FocalLoss("multilabel", ignore_index=-1)(torch.from_numpy(x), torch.from_numpy(y))


# ---- SoftBCEWithLogitsLoss ---------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opt", ["plain", "smooth", "pos_weight", "weight", "no_ignore", "soft"])
@pytest.mark.parametrize("dim", list(SPATIAL))
def test_soft_bce(dim, opt, reduction):
    rng = np.random.default_rng(9)
    shape = (2, 3, *SPATIAL[dim])
    x = 3 * rng.standard_normal(shape)
    y = rng.random(shape) if opt == "soft" else (rng.random(shape) > 0.5).astype(np.float64)
    y[:, 1] = 0.0  # an empty class
    y = np.where(rng.random(shape) < 0.15, -100.0, y)
    kw = dict(reduction=reduction)
    ref_kw = dict(kw)
    if opt == "smooth":
        kw["smooth_factor"] = ref_kw["smooth_factor"] = 0.1
    elif opt == "pos_weight":
        pw = rng.random(shape[-1]) * 3
        kw["pos_weight"], ref_kw["pos_weight"] = pw, torch.from_numpy(pw)
    elif opt == "weight":
        w = rng.random((3,) + (1,) * (len(shape) - 2))
        kw["weight"], ref_kw["weight"] = w, torch.from_numpy(w)
    elif opt == "no_ignore":
        y = np.where(y < 0, 1.0, y)
        kw["ignore_index"] = ref_kw["ignore_index"] = None
    _check(smp.SoftBCEWithLogitsLoss(**kw)(x, y, return_grad=True), _ref(smp_ref.SoftBCEWithLogitsLoss(**ref_kw), x, y))


def test_soft_bce_all_ignored():
    x = np.random.default_rng(10).standard_normal((2, 1, 3))
    y = np.full(x.shape, -100.0)
    _check(smp.SoftBCEWithLogitsLoss()(x, y, return_grad=True), _ref(smp_ref.SoftBCEWithLogitsLoss(), x, y))


# ---- SoftCrossEntropyLoss ----------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [-100, None, 2])
@pytest.mark.parametrize("smooth", [0.0, 0.1])
@pytest.mark.parametrize("dim", ["none", *SPATIAL])
def test_soft_ce(dim, smooth, ignore_index, reduction):
    rng = np.random.default_rng(11)
    spatial = () if dim == "none" else SPATIAL[dim]
    x = 3 * rng.standard_normal((3, 4, *spatial))
    y = _labels(rng, (3, *spatial), 4, absent=3)
    if ignore_index == -100:
        y = np.where(rng.random(y.shape) < 0.2, -100, y)
    loss = dict(reduction=reduction, smooth_factor=smooth, ignore_index=ignore_index)
    _check(smp.SoftCrossEntropyLoss(**loss)(x, y, return_grad=True), _ref(smp_ref.SoftCrossEntropyLoss(**loss), x, y))


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("dim", [0, 2, -1])
def test_soft_ce_other_dim(dim, reduction):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 4, 5))
    lab_shape = tuple(s for a, s in enumerate(x.shape) if a != dim % 3)
    y = _labels(rng, lab_shape, x.shape[dim])
    y.reshape(-1)[0] = -100
    loss = dict(reduction=reduction, smooth_factor=0.2, dim=dim)
    _check(smp.SoftCrossEntropyLoss(**loss)(x, y, return_grad=True), _ref(smp_ref.SoftCrossEntropyLoss(**loss), x, y))


def test_soft_ce_target_with_class_axis():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 3, 4, 5))
    y = _labels(rng, (2, 1, 4, 5), 3)
    loss = dict(smooth_factor=0.1, reduction="none")
    _check(smp.SoftCrossEntropyLoss(**loss)(x, y, return_grad=True), _ref(smp_ref.SoftCrossEntropyLoss(**loss), x, y))


def test_soft_ce_rejects():
    x, y = np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64)
    with pytest.raises(TypeError):  # smp multiplies by smooth_factor=None
        smp_ref.SoftCrossEntropyLoss()(torch.from_numpy(x), torch.from_numpy(y))
    with pytest.raises(dice.DiceError):
        smp.SoftCrossEntropyLoss()(x, y)
    with pytest.raises(dice.DiceError):
        smp.SoftCrossEntropyLoss(smooth_factor=0.1)(x, y + 3)


# ---- MCCLoss -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["binary", "soft", "empty", "full"])
@pytest.mark.parametrize("dim", list(SPATIAL))
def test_mcc(dim, target):
    rng = np.random.default_rng(14)
    shape = (2, 1, *SPATIAL[dim])
    x = rng.random(shape)
    y = {
        "binary": (rng.random(shape) > 0.5).astype(np.float64),
        "soft": rng.random(shape),
        "empty": np.zeros(shape),
        "full": np.ones(shape),
    }[target]
    _check(smp.MCCLoss()(x, y, return_grad=True), _ref(smp_ref.MCCLoss(), x, y))
    _check(smp.MCCLoss(eps=1e-2)(x, y, return_grad=True), _ref(smp_ref.MCCLoss(eps=1e-2), x, y))


def test_float32_in_float32_grad():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    y = (rng.random(x.shape) > 0.5).astype(np.float32)
    for loss in (smp.FocalLoss("multilabel"), smp.SoftBCEWithLogitsLoss(), smp.MCCLoss()):
        value, grad = loss(x, y, return_grad=True)
        assert grad.dtype == np.float32 and grad.shape == x.shape and np.ndim(value) == 0


def test_torch_tensors_in():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((2, 3, 4, 5))
    y = _labels(rng, (2, 4, 5), 3)
    value = smp.SoftCrossEntropyLoss(smooth_factor=0.1)(torch.from_numpy(x).requires_grad_(), torch.from_numpy(y))
    ref = smp_ref.SoftCrossEntropyLoss(smooth_factor=0.1)(torch.from_numpy(x), torch.from_numpy(y))
    np.testing.assert_allclose(value, ref.numpy(), **TOL)


OVERLAP = [("DiceLoss", {}), ("JaccardLoss", {}), ("TverskyLoss", dict(alpha=0.3, beta=0.7, gamma=1.5))]


@pytest.mark.parametrize("name,kw", OVERLAP, ids=[o[0] for o in OVERLAP])
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("dim", SPATIAL)
def test_overlap_losses_soft_targets(name, kw, mode, from_logits, dim):
    """Soft targets (and, without logits, outputs outside [0, 1]): smp's intersection is
    sum min(p, t), which differs from sum p t there."""
    rng = np.random.default_rng(23)
    c = 1 if mode == "binary" else 3
    x = rng.standard_normal((2, c, *SPATIAL[dim]))
    if not from_logits:
        x = rng.random(x.shape) * 1.4 - 0.2
    t = rng.random(x.shape)
    make = getattr(smp_ref, name)(mode, from_logits=from_logits, **kw)
    ours = getattr(smp, name)(mode, from_logits=from_logits, **kw)(x, t, return_grad=True)
    _check(ours, _ref(make, x, t))
