"""dice.compat.monai / dice.compat.smp / dice.torch against the installed MONAI and smp on random
inputs: every target dtype the originals accept, 2-D and 3-D (and MONAI's (B, C) inputs), other_act,
DiceFocalLoss' weight with one kept channel, focal alpha outside [0, 1].

Tolerances: float64 throughout, rtol 1e-7, except rtol 1e-5 where MONAI itself rounds to
float32 inside its float64 computation: the focal term (~1e-6 relative, see
test_upstream_losses.py) and GeneralizedDiceLoss' class weights (`self.w_func(ground_o.float())`);
test_generalized_dice_float64 checks that loss against a float64 evaluation at rtol 1e-12.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ml = pytest.importorskip("monai.losses")
smp_ref = pytest.importorskip("segmentation_models_pytorch.losses")

import dice  # noqa: E402
from dice import torch as dtorch  # noqa: E402
from dice.compat import monai, smp  # noqa: E402

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
DTYPES = [np.bool_, *INT_DTYPES, np.float32, np.float64]
SPATIAL = {"2d": (4, 5), "3d": (3, 4, 5)}
MONAI_CONFIGS = [
    ("DiceLoss", dict(softmax=True)),
    ("GeneralizedDiceLoss", dict(softmax=True)),
    ("TverskyLoss", dict(sigmoid=True, alpha=0.3, beta=0.7)),
    ("DiceCELoss", dict(softmax=True)),
    ("FocalLoss", dict(gamma=2.0)),
    ("DiceFocalLoss", dict(sigmoid=True, gamma=1.5)),
]


def _tol(name):
    return dict(rtol=1e-5, atol=1e-10) if "Focal" in name or "Generalized" in name else dict(rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("w_type", ["square", "simple", "uniform"])
def test_generalized_dice_float64(w_type):
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((2, 3, 4, 5)), rng.integers(0, 2, size=(2, 3, 4, 5)).astype(np.float64)
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    i, g, s = (p * t).sum(axis=(2, 3)), t.sum(axis=(2, 3)), p.sum(axis=(2, 3))
    w = {"square": 1 / g**2, "simple": 1 / g, "uniform": np.ones_like(g)}[w_type]
    expected = np.mean(1 - (2 * (w * i).sum(axis=1) + 1e-5) / ((w * (s + g)).sum(axis=1) + 1e-5))
    assert monai.GeneralizedDiceLoss(softmax=True, w_type=w_type)(x, t) == pytest.approx(expected, rel=1e-12)


def _monai_ref(name, kwargs, x, t):
    """The installed MONAI's value and d(sum of value)/d(input), float64."""
    xt = torch.from_numpy(x.copy()).requires_grad_()
    tt = torch.from_numpy(np.ascontiguousarray(t).astype(np.float64 if t.dtype.kind in "fb" else np.int64))
    v = getattr(ml, name)(**kwargs)(xt, tt)
    v.sum().backward()
    return v.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dim", [*SPATIAL, "BC"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name, kwargs", MONAI_CONFIGS, ids=[c[0] for c in MONAI_CONFIGS])
@pytest.mark.parametrize("layout", ["dense", "labels"])
def test_monai_target_dtypes(name, kwargs, dtype, dim, layout):
    """Dense 0/1 targets and label maps (to_onehot_y, MONAI users often pass them as float) of
    every dtype give MONAI's value and gradient."""
    rng = np.random.default_rng(len(name) * 100 + DTYPES.index(dtype) * 10 + len(dim))
    spatial = SPATIAL.get(dim, ())
    c = 2 if dtype is np.bool_ else 3
    x = rng.standard_normal((2, c, *spatial))
    if layout == "dense":
        t = rng.integers(0, 2, size=x.shape)
        kw = dict(kwargs)
    else:
        t = rng.integers(0, c, size=(2, 1, *spatial))
        kw = dict(kwargs, to_onehot_y=True)
    t = t.astype(dtype)
    if dim == "BC" and name == "GeneralizedDiceLoss":
        # MONAI's sums over dim=[] pool every axis, then its class sum fails: it needs batch=True there
        with pytest.raises(dice.NdimError):
            getattr(monai, name)(**kw)(x, t)
        with pytest.raises(IndexError):
            getattr(ml, name)(**kw)(torch.from_numpy(x), torch.from_numpy(t.astype(np.float64)))
        return
    value, grad = getattr(monai, name)(**kw)(x, t, return_grad=True)
    ref_value, ref_grad = _monai_ref(name, kw, x, t.astype(np.int64) if layout == "labels" else t.astype(np.float64))
    np.testing.assert_allclose(value, ref_value, **_tol(name))
    np.testing.assert_allclose(grad, ref_grad, **_tol(name))


@pytest.mark.parametrize("kwargs", [{"use_softmax": True}, {"alpha": 0.25}])
def test_focal_none_without_spatial_axes(kwargs):
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((4, 3)), rng.integers(0, 2, size=(4, 3)).astype(np.float64)
    value, grad = monai.FocalLoss(reduction="none", **kwargs)(x, t, return_grad=True)
    ref_value, ref_grad = _monai_ref("FocalLoss", dict(reduction="none", **kwargs), x, t)
    assert value.shape == ref_value.shape == (4, 3) and grad.shape == x.shape
    np.testing.assert_allclose(value, ref_value, **_tol("FocalLoss"))
    np.testing.assert_allclose(grad, ref_grad, **_tol("FocalLoss"))


def _smp_case(mode, dtype, spatial, rng, channel_axis):
    b, c = 2, 3
    if mode == "binary":
        x = rng.standard_normal((b, 1, *spatial))
        y = rng.integers(0, 2, size=(b, 1, *spatial) if channel_axis else (b, *spatial))
        ref_y = torch.from_numpy(y.astype(np.float64))
    elif mode == "multiclass":
        x = rng.standard_normal((b, c, *spatial))
        y = rng.integers(0, 2 if dtype is np.bool_ else c, size=(b, 1, *spatial) if channel_axis else (b, *spatial))
        ref_y = torch.from_numpy(y.astype(np.int64))
    else:
        x = rng.standard_normal((b, c, *spatial))
        y = rng.integers(0, 2, size=x.shape)
        ref_y = torch.from_numpy(y.astype(np.float64))
    return x, y.astype(dtype), ref_y


@pytest.mark.parametrize("dim", list(SPATIAL))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(
    "mode, channel_axis",
    [("binary", False), ("binary", True), ("multiclass", False), ("multiclass", True), ("multilabel", True)],
    ids=["binary-(B,...)", "binary-(B,1,...)", "multiclass-(B,...)", "multiclass-(B,1,...)", "multilabel"],
)
@pytest.mark.parametrize("name", ["DiceLoss", "JaccardLoss", "TverskyLoss"])
def test_smp_target_dtypes(name, mode, dtype, dim, channel_axis):
    rng = np.random.default_rng(DTYPES.index(dtype) * 10 + len(dim) + 100 * len(mode))
    x, y, ref_y = _smp_case(mode, dtype, SPATIAL[dim], rng, channel_axis)
    kw = dict(alpha=0.3, beta=0.7, gamma=1.5) if name == "TverskyLoss" else {}
    value, grad = getattr(smp, name)(mode, **kw)(x, y, return_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    ref = getattr(smp_ref, name)(mode, **kw)(xt, ref_y)
    ref.backward()
    np.testing.assert_allclose(value, ref.item(), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, np.float32], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("name", ["DiceLoss", "JaccardLoss"])
def test_smp_ignore_index(name, mode, dtype):
    rng = np.random.default_rng(["binary", "multiclass", "multilabel"].index(mode))
    c = 1 if mode == "binary" else 3
    x = rng.standard_normal((2, c, 4, 5))
    y = rng.integers(0, 2 if mode != "multiclass" else c, size=(2, 4, 5) if mode != "multilabel" else x.shape)
    y[..., 0] = 7
    ref_y = torch.from_numpy(y.astype(np.int64 if mode == "multiclass" else np.float64))
    value = getattr(smp, name)(mode, ignore_index=7)(x, y.astype(dtype))
    ref = getattr(smp_ref, name)(mode, ignore_index=7)(torch.from_numpy(x), ref_y)
    np.testing.assert_allclose(value, ref.item(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("name", ["DiceLoss", "JaccardLoss", "TverskyLoss"])
def test_smp_binary_flattens_both(name):
    """smp reads binary y_pred and y_true as (B, 1, -1): only the element counts must agree."""
    x = np.array([1.0, 0.0, 1.0]).reshape(1, 1, 3)
    y = np.array([0, 1, 0]).reshape(1, 1, 1, 3)
    value, grad = getattr(smp, name)("binary", from_logits=False)(x, y, return_grad=True)
    ref = getattr(smp_ref, name)("binary", from_logits=False)(torch.from_numpy(x), torch.from_numpy(y))
    assert value == pytest.approx(ref.item(), abs=1e-12) and grad.shape == x.shape
    with pytest.raises(dice.DiceError):
        getattr(smp, name)("binary")(x, y[..., :2])


def test_smp_class_weights_rejected_in_binary_mode():
    with pytest.raises(dice.OptionError, match="binary"):
        smp.DiceLoss("binary", class_weights=[1.0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_dice_focal_scalar_weight_one_kept_channel(reduction):
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((3, 2, 5, 5)), rng.integers(0, 2, size=(3, 2, 5, 5)).astype(np.float64)
    kw = dict(include_background=False, weight=2.0, reduction=reduction)
    for name in ("FocalLoss", "DiceFocalLoss"):
        value, grad = getattr(monai, name)(**kw)(x, t, return_grad=True)
        ref_value, ref_grad = _monai_ref(name, kw, x, t)
        np.testing.assert_allclose(value, ref_value, **_tol(name))
        np.testing.assert_allclose(grad, ref_grad, **_tol(name))
    focal = monai.FocalLoss(**kw)(x, t)
    unweighted = monai.FocalLoss(**dict(kw, weight=None))(x, t)
    np.testing.assert_allclose(focal, 2.0 * unweighted, rtol=1e-12)


@pytest.mark.parametrize("name", ["FocalLoss", "DiceFocalLoss"])
@pytest.mark.parametrize("weight", [[2.0], [1.0, 2.0]])
def test_per_class_weight_one_kept_channel_raises(name, weight):
    x, t = np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 3))
    with pytest.raises(ValueError):  # the original
        getattr(ml, name)(include_background=False, weight=weight)(torch.from_numpy(x), torch.from_numpy(t))
    with pytest.raises(dice.WeightError, match="one channel is kept"):
        getattr(monai, name)(include_background=False, weight=weight)(x, t)


@pytest.mark.parametrize("alpha", [2.0, -0.5, [0.1, 0.5, 2.0], [0.1, -0.5, 1.0]], ids=str)
@pytest.mark.parametrize("use_softmax", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_focal_alpha_outside_unit_interval(alpha, use_softmax, reduction):
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((2, 3, 4, 4)), rng.integers(0, 3, size=(2, 1, 4, 4))
    kw = dict(to_onehot_y=True, alpha=alpha, use_softmax=use_softmax, reduction=reduction)
    value, grad = monai.FocalLoss(**kw)(x, t, return_grad=True)
    ref_value, ref_grad = _monai_ref("FocalLoss", kw, x, t)
    np.testing.assert_allclose(value, ref_value, **_tol("FocalLoss"))
    np.testing.assert_allclose(grad, ref_grad, **_tol("FocalLoss"))


@pytest.mark.parametrize("alpha", [2.0, -0.5])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_dice_focal_alpha_outside_unit_interval(alpha, reduction):
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((2, 3, 4, 4)), rng.integers(0, 2, size=(2, 3, 4, 4)).astype(np.float64)
    kw = dict(alpha=alpha, sigmoid=True, reduction=reduction, lambda_focal=0.7)
    value, grad = monai.DiceFocalLoss(**kw)(x, t, return_grad=True)
    ref_value, ref_grad = _monai_ref("DiceFocalLoss", kw, x, t)
    np.testing.assert_allclose(value, ref_value, **_tol("DiceFocalLoss"))
    np.testing.assert_allclose(grad, ref_grad, **_tol("DiceFocalLoss"))


OTHER_ACTS = {
    "tanh": (np.tanh, torch.tanh),
    "log_softmax": (lambda v: v - np.log(np.exp(v).sum(axis=1, keepdims=True)), lambda v: torch.log_softmax(v, dim=1)),
}


@pytest.mark.parametrize("act", list(OTHER_ACTS))
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("DiceLoss", {}),
        ("DiceLoss", {"reduction": "none"}),
        ("GeneralizedDiceLoss", {}),
        ("TverskyLoss", {}),
        ("DiceCELoss", {}),
        ("DiceFocalLoss", {}),
        ("DiceFocalLoss", {"reduction": "none"}),
    ],
)
def test_other_act(name, kwargs, act):
    """numpy: other_act on a copy of the input; torch: autograd chains it; both give MONAI's value
    (and, in torch, its gradient)."""
    np_act, torch_act = OTHER_ACTS[act]
    rng = np.random.default_rng(8)
    x, t = rng.standard_normal((2, 3, 4, 4)), rng.integers(0, 3, size=(2, 1, 4, 4))
    kw = dict(kwargs, to_onehot_y=True)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    ref = getattr(ml, name)(other_act=torch_act, **kw)(xt, torch.from_numpy(t))
    ref.sum().backward()
    before = x.copy()
    value = getattr(monai, name)(other_act=np_act, **kw)(x, t)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(value, ref.detach().numpy(), **_tol(name))
    xd = torch.from_numpy(x.copy()).requires_grad_()
    out = getattr(dtorch, name)(other_act=torch_act, **kw)(xd, torch.from_numpy(t))
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **_tol(name))
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), **_tol(name))


def test_other_act_runs_on_a_copy():
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 3))
    before = x.copy()
    monai.DiceLoss(other_act=lambda v: np.tanh(v, out=v))(x, np.ones_like(x))
    np.testing.assert_array_equal(x, before)


def test_other_act_with_return_grad_raises():
    x = np.zeros((1, 2, 3, 3))
    with pytest.raises(dice.OptionError, match="other_act"):
        monai.DiceLoss(other_act=np.tanh)(x, x, return_grad=True)
    with pytest.raises(dice.OptionError):
        monai.DiceLoss(other_act=np.tanh, softmax=True)
    with pytest.raises(ValueError):
        ml.DiceLoss(other_act=torch.tanh, softmax=True)


def test_compat_reachable_after_import_dice():
    import importlib
    import subprocess
    import sys

    code = "import dice; print(dice.compat.monai.DiceLoss.__name__, dice.compat.smp.JaccardLoss.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["DiceLoss", "JaccardLoss"]
    assert importlib.import_module("dice.compat").kornia is importlib.import_module("dice.compat.kornia")


FUNCTIONS = {
    "GeneralizedDiceLoss": "generalized_dice_loss",
    "TverskyLoss": "tversky_loss",
    "FocalLoss": "focal_loss",
    "DiceCELoss": "dice_ce_loss",
    "DiceFocalLoss": "dice_focal_loss",
}


@pytest.mark.parametrize("name,kwargs", [c for c in MONAI_CONFIGS if c[0] in FUNCTIONS], ids=lambda c: str(c))
def test_function_forms_against_monai(name, kwargs):
    """dice.compat.monai's function forms take the class's keywords and give MONAI's value and gradient."""
    rng = np.random.default_rng(17)
    x = rng.standard_normal((2, 3, 4, 5))
    t = (rng.random((2, 3, 4, 5)) < 0.4).astype(np.float64)
    ref, ref_grad = _monai_ref(name, kwargs, x, t)
    fn = getattr(monai, FUNCTIONS[name])
    np.testing.assert_allclose(fn(x, t, **kwargs), ref, **_tol(name))
    value, grad = fn(x, t, return_grad=True, **kwargs)
    np.testing.assert_allclose(value, ref, **_tol(name))
    np.testing.assert_allclose(grad, ref_grad, **_tol(name))
