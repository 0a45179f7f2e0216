"""The loss test tables of MONAI 1.6 (tests/losses/test_*loss.py) and smp 0.6 (tests/test_losses.py),
replayed on numpy arrays through dice.compat.

The cases are data (tests/reference/upstream/{monai,smp}_losses.json): "value" cases carry the
upstream inputs, keywords, expected output and that test's own tolerance; "raises" cases name
what the original rejects (here: a dice.DiceError subclass); the other kinds are the upstream
relational checks (e.g. DiceFocalLoss == DiceLoss + lambda * FocalLoss) on seeded random inputs.
Relations that upstream asserts at rtol 1e-7 on float32 results are checked on float64 inputs
(the relation itself at 1e-7), and against the installed MONAI's own float64 result.
"""

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

import dice
from dice.compat import monai, smp

UPSTREAM = Path(__file__).resolve().parents[1] / "reference" / "upstream"
MONAI_CASES = json.loads((UPSTREAM / "monai_losses.json").read_text())
SMP_CASES = json.loads((UPSTREAM / "smp_losses.json").read_text())


def _log_softmax_channels(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


# the upstream activations by name: torch.tanh and lambda x: torch.log_softmax(x, dim=1)
OTHER_ACT = {"tanh": np.tanh, "log_softmax_channels": _log_softmax_channels}


def _params(table, kinds):
    return [pytest.param(c, id=c["id"]) for c in table["cases"] if c["kind"] in kinds]


def _init(raw):
    kw = dict(raw)
    if isinstance(kw.get("other_act"), str):
        kw["other_act"] = OTHER_ACT[kw["other_act"]]
    return kw


def _arrays(case):
    x = np.asarray(case["input"], dtype=np.float32)
    y = np.asarray(case["target"], dtype=case["target_dtype"])
    if "input_shape" in case:
        x = x.reshape(case["input_shape"])
    if "target_shape" in case:
        y = y.reshape(case["target_shape"])
    return x, y


def _assert_value(case, value):
    np.testing.assert_allclose(
        np.asarray(value, dtype=np.float64),
        np.asarray(case["expected"], dtype=np.float64),
        rtol=case["rtol"],
        atol=case["atol"],
        err_msg=case["id"],
    )


@pytest.mark.parametrize("case", _params(MONAI_CASES, {"value"}))
def test_monai_value(case):
    x, y = _arrays(case)
    loss = getattr(monai, case["cls"])(**_init(case["init"]))
    value = loss(x, y)
    assert np.shape(value) == np.shape(case["expected"])
    _assert_value(case, value)
    if "other_act" not in case["init"]:
        value2, grad = loss(x, y, return_grad=True)
        np.testing.assert_array_equal(value2, value)
        assert grad.shape == x.shape and grad.dtype == x.dtype


@pytest.mark.parametrize("case", _params(MONAI_CASES, {"value"}))
def test_monai_value_torch(case):
    """The same case with torch tensors through dice.torch (the one-import change)."""
    torch = pytest.importorskip("torch")
    from dice import torch as dtorch

    acts = {"tanh": torch.tanh, "log_softmax_channels": lambda v: torch.log_softmax(v, dim=1)}
    init = dict(case["init"])
    if "other_act" in init:
        init["other_act"] = acts[init["other_act"]]
    x, y = (torch.from_numpy(a) for a in _arrays(case))
    x.requires_grad_()
    value = getattr(dtorch, case["cls"])(**init)(x, y)
    _assert_value(case, value.detach().numpy())
    value.sum().backward()
    assert x.grad.shape == x.shape and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("case", _params(MONAI_CASES, {"raises"}))
def test_monai_raises(case):
    cls = getattr(monai, case["cls"])
    if case["when"] == "init":
        with pytest.raises(dice.DiceError):
            cls(**case["init"])
        return
    x, y = np.ones(case["input_shape"], np.float32), np.ones(case["target_shape"], np.float32)
    with pytest.raises(dice.DiceError):
        cls(**case["init"])(x, y)


def _torch_monai():
    torch = pytest.importorskip("torch")
    return torch, pytest.importorskip("monai.losses")


@pytest.mark.parametrize("case", _params(MONAI_CASES, {"dice_focal_is_sum"}))
def test_dice_focal_is_dice_plus_focal(case):
    rng = np.random.default_rng(zlib.crc32(case["id"].encode()))
    size = case["size"]
    label = rng.integers(0, case["label_high"], size=size)
    if case.get("argmax_label"):
        label = np.argmax(label, axis=1)[:, None]
    pred = rng.standard_normal(size)  # float64: see the module docstring
    common = dict(case["common"])
    lf, gamma, alpha, softmax = case["lambda_focal"], case["gamma"], case["alpha"], case["softmax"]
    focal_kw = dict(gamma=gamma) if alpha is None else dict(gamma=gamma, alpha=alpha)
    result = monai.DiceFocalLoss(lambda_focal=lf, softmax=softmax, alpha=alpha, gamma=gamma, **common)(pred, label)
    expected = monai.DiceLoss(softmax=softmax, **common)(pred, label) + lf * monai.FocalLoss(**focal_kw, **common)(
        pred, label
    )
    np.testing.assert_allclose(result, expected, rtol=1e-7)

    torch, ml = _torch_monai()
    tw = None if common["weight"] is None else torch.as_tensor(common["weight"], dtype=torch.float64)
    ref = ml.DiceFocalLoss(lambda_focal=lf, softmax=softmax, alpha=alpha, gamma=gamma, **dict(common, weight=tw))(
        torch.from_numpy(pred), torch.from_numpy(label)
    )
    # MONAI's float64 focal term carries float32-level rounding (its elementwise values differ from
    # a float64 evaluation of the same formula by ~1e-6 relative, the library's by ~1e-15), so
    # the comparison with it uses the loss tables' tolerance
    np.testing.assert_allclose(result, ref.numpy(), rtol=1e-5, atol=1e-8)


def test_ignore_index_label_map_equals_crop():
    case = next(c for c in MONAI_CASES["cases"] if c["kind"] == "ignore_equals_crop")
    x = np.log(np.asarray(case["input_log"], dtype=np.float32))
    t = np.asarray(case["target"], dtype=np.int64)
    full = monai.DiceLoss(to_onehot_y=True, softmax=True, ignore_index=2)(x, t)
    crop = monai.DiceLoss(to_onehot_y=True, softmax=True)(x[:, :, :1, :], t[:, :, :1, :])
    np.testing.assert_allclose(full, crop, rtol=1e-5, atol=1e-8)


def test_ignore_index_onehot_equals_labels():
    case = next(c for c in MONAI_CASES["cases"] if c["kind"] == "ignore_onehot_equals_labels")
    rng = np.random.default_rng(7)
    n, c = case["size"][:2]
    x = rng.standard_normal(case["size"]).astype(np.float32)
    labels = rng.integers(0, c, size=(n, 1, *case["size"][2:]))
    onehot = (labels == np.arange(c).reshape(1, c, 1, 1)).astype(np.float32)
    ii = case["ignore_index"]
    a = monai.DiceLoss(softmax=True, ignore_index=ii)(x, onehot)
    b = monai.DiceLoss(to_onehot_y=True, softmax=True, ignore_index=ii)(x, labels)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)


def test_ignore_index_gradient_is_zero_there():
    case = next(c for c in MONAI_CASES["cases"] if c["kind"] == "ignore_zero_grad")
    x = np.random.default_rng(3).standard_normal(case["size"]).astype(np.float32)
    t = np.asarray(case["target"], dtype=np.int64)[:, None]
    _, grad = monai.DiceLoss(to_onehot_y=True, softmax=True, ignore_index=case["ignore_index"])(x, t, return_grad=True)
    ignored = np.broadcast_to(t == case["ignore_index"], grad.shape)
    assert np.all(grad[ignored] == 0.0) and np.any(grad[~ignored] != 0.0)


def _bce_with_logits(x, t):
    return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))


def _focal_vs_bce(case, gamma, rng):
    size = case["size"]
    x = rng.random(size, dtype=np.float32)
    if case.get("labels") == "dense":
        t = rng.integers(0, 2, size=size).astype(np.float32)
        focal = monai.FocalLoss(to_onehot_y=False, gamma=gamma, reduction=case.get("reduction", "mean"), weight=1.0)(
            x, t
        )
        onehot = t
    else:
        t = rng.integers(0, size[1], size=(size[0], 1, *size[2:]))
        focal = monai.FocalLoss(to_onehot_y=True, gamma=gamma, reduction="mean")(x, t)
        onehot = (t == np.arange(size[1]).reshape(1, -1, *[1] * (len(size) - 2))).astype(np.float32)
    bce = _bce_with_logits(x.astype(np.float64), onehot)
    return np.abs(focal - (bce if case.get("reduction") == "none" else bce.mean()))


@pytest.mark.parametrize("case", _params(MONAI_CASES, {"focal_gamma0_is_bce", "focal_gamma01_differs"}))
def test_focal_against_bce(case):
    rng = np.random.default_rng(11)
    gamma = 0.0 if case["kind"] == "focal_gamma0_is_bce" else 0.1
    err = np.max([_focal_vs_bce(case, gamma, rng) for _ in range(10)], axis=0)
    if case["kind"] == "focal_gamma01_differs":
        assert round(float(err), case["places"]) != 0.0
    elif "places" in case:
        assert round(float(err), case["places"]) == 0.0
    else:
        assert np.allclose(err, 0.0, atol=case["atol"])


@pytest.mark.parametrize("case", _params(MONAI_CASES, {"focal_very_good"}))
@pytest.mark.parametrize("use_softmax", [True, False])
@pytest.mark.parametrize("alpha", [None, 0.5])
def test_focal_very_good_prediction(case, use_softmax, alpha):
    t = np.asarray(case["target"], dtype=np.int64)
    onehot = np.moveaxis(t[..., None] == np.arange(case["classes"]), -1, 1)
    pred = case["scale"] * onehot.astype(np.float32) - case["scale"] / 2
    from_labels = monai.FocalLoss(to_onehot_y=True, alpha=alpha, use_softmax=use_softmax)(pred, t[:, None])
    from_onehot = monai.FocalLoss(to_onehot_y=False, alpha=alpha, use_softmax=use_softmax)(
        pred, onehot.astype(np.int64)
    )
    assert round(float(from_labels), case["places"]) == 0.0 and round(float(from_onehot), case["places"]) == 0.0


def test_focal_alpha_sequence():
    case = next(c for c in MONAI_CASES["cases"] if c["kind"] == "focal_alpha_sequence_positive")
    rng = np.random.default_rng(5)
    size = case["size"]
    x = rng.standard_normal(size).astype(np.float32)
    t = rng.integers(0, size[1], size=(size[0], 1, *size[2:]))
    for use_softmax in (True, False):
        value = monai.FocalLoss(to_onehot_y=True, gamma=2.0, alpha=case["alpha"], use_softmax=use_softmax)(x, t)
        assert np.ndim(value) == 0 and value > 0


@pytest.mark.parametrize("case", _params(MONAI_CASES, {"has_gradient"}))
def test_gradient_is_defined(case):
    x = np.full(case["size"], case["fill"], np.float32)
    value, grad = getattr(monai, case["cls"])(**case["init"])(x, x.copy(), return_grad=True)
    assert np.isfinite(value) and grad.shape == x.shape and np.isfinite(grad).all()


def test_every_monai_case_is_run():
    run = {
        "value",
        "raises",
        "dice_focal_is_sum",
        "ignore_equals_crop",
        "ignore_onehot_equals_labels",
        "ignore_zero_grad",
        "focal_gamma0_is_bce",
        "focal_gamma01_differs",
        "focal_very_good",
        "focal_alpha_sequence_positive",
        "has_gradient",
    }
    assert {c["kind"] for c in MONAI_CASES["cases"]} <= run


@pytest.mark.parametrize("case", _params(SMP_CASES, {"value"}))
def test_smp_value(case):
    x, y = _arrays(case)
    loss = getattr(smp, case["cls"])(**case["init"])
    _assert_value(case, loss(x, y))
    value, grad = loss(x, y, return_grad=True)
    _assert_value(case, value)
    assert grad.shape == x.shape


def _smp_api(path):
    """dice.compat.smp's object at smp's dotted path (e.g. losses._functional.focal_loss_with_logits)."""
    obj = smp
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


_SCORE = {
    "soft_jaccard_score": "soft_jaccard_score",
    "soft_dice_score": "soft_dice_score",
    "soft_tversky_score": "soft_tversky_score",
}


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c["id"]) for c in SMP_CASES["cases"] if c.get("expected_is", "").startswith("1 - ")]
)
def test_smp_functional_score(case):
    """The soft_*_score cases through losses._functional itself, on upstream's own shapes: 1-D
    vectors, or (rows, 4) with dims=[1] and the mean of the rows' scores."""
    name = case["id"].rsplit("_", 1)[0].removesuffix("_rows")
    fn = _smp_api(f"losses._functional.{_SCORE[name]}")
    x, y = _arrays(case)
    kw = {k: case["init"][k] for k in ("eps", "alpha", "beta") if k in case["init"]}
    if case["expected_is"] == "1 - mean of per-row scores":
        score = np.mean(fn(x[0], y[0], dims=[1], **kw))
    else:
        score = fn(x.reshape(-1), y.reshape(-1), **kw)
    assert np.ndim(score) == 0
    np.testing.assert_allclose(score, 1.0 - case["expected"], rtol=case["rtol"], atol=case["atol"], err_msg=case["id"])


# Inputs of smp 0.6's tests/test_losses.py for the APIs listed in the table's not_provided (the
# table keeps only their names and the two printed expectations); the expectations below are
# upstream's asserts, each within upstream's tolerance.
_FOCAL_GOOD_BAD = {
    "focal_loss_with_logits": ([10.0, -10.0, 10.0], [-1.0, 2.0, 0.0], [1, 0, 1]),
    "softmax_focal_loss_with_logits": (
        [[0, 10, 0], [10, 0, 0], [0, 0, 10]],
        [[0, -10, 0], [0, 10, 0], [0, 0, 10]],
        [1, 0, 2],
    ),
}
_MCC_PRED = [[[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]]
_MCC_CASES = [  # (y_pred, y_true, upstream's expected loss), eps = 1e-5, abs tolerance eps
    (_MCC_PRED, _MCC_PRED, 0.0),
    (_MCC_PRED, (1 - np.asarray(_MCC_PRED)).tolist(), 2.0),
    ([[[0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]]], [[[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]], 1.0),
    ([[[0.0] * 4] * 2], [[[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]], 1.0),
    ([[[0.0] * 4] * 2], [[[1.0] * 4] * 2], 1.5),
    ([[[1.0] * 4] * 2], [[[1.0] * 4] * 2], 0.5),
]


def _not_provided(case_id):
    return next(c for c in SMP_CASES["not_provided"] if c["id"] == case_id)


@pytest.mark.parametrize("case_id", ["focal_loss_with_logits", "softmax_focal_loss_with_logits"])
def test_smp_focal_good_below_bad(case_id):
    fn = _smp_api(_not_provided(case_id)["api"])
    good, bad, target = _FOCAL_GOOD_BAD[case_id]
    y = np.asarray(target, dtype=np.int64)
    loss_good = fn(np.asarray(good, dtype=np.float32), y)
    loss_bad = fn(np.asarray(bad, dtype=np.float32), y)
    assert loss_good < loss_bad


def test_smp_soft_ce_loss():
    case = _not_provided("soft_ce_loss")
    loss = _smp_api(case["api"])(smooth_factor=0.1, ignore_index=-100)
    x = np.asarray([[9, -9, -9, -9], [-9, 9, -9, -9], [-9, -9, 9, -9], [-9, -9, -9, 9]], dtype=np.float32)
    y = np.asarray([0, 1, -100, 3], dtype=np.int64)
    np.testing.assert_allclose(loss(x, y), case["expected"], rtol=0, atol=1e-4)


def test_smp_soft_bce_loss():
    case = _not_provided("soft_bce_loss")
    loss = _smp_api(case["api"])(smooth_factor=0.1, ignore_index=-100)
    x = np.asarray([-9, 9, 1, 9, -9], dtype=np.float32)
    y = np.asarray([0, 1, -100, 1, 0], dtype=np.int64)
    np.testing.assert_allclose(loss(x, y), case["expected"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("pred, true, expected", _MCC_CASES)
def test_smp_binary_mcc_loss(pred, true, expected):
    loss = _smp_api(_not_provided("binary_mcc_loss")["api"])(eps=1e-5)
    value = loss(np.asarray(pred, dtype=np.float32), np.asarray(true, dtype=np.float32))
    np.testing.assert_allclose(value, expected, rtol=0, atol=1e-5)


def test_every_smp_not_provided_case_is_run():
    run = {
        "focal_loss_with_logits",
        "softmax_focal_loss_with_logits",
        "soft_ce_loss",
        "soft_bce_loss",
        "binary_mcc_loss",
    }
    assert {c["id"] for c in SMP_CASES["not_provided"]} <= run
