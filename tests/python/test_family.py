"""dice.loss (the library's whole family by its options) against a float64 numpy oracle written
from the formulas, with finite-difference gradients."""

import numpy as np
import pytest

import dice
from dice import _lib

pytestmark = pytest.mark.skipif(
    not _lib.FAMILY, reason="the loaded libdice has no loss-family options (< 0.2): NOT tested"
)

RNG = np.random.default_rng(17)
X = RNG.normal(size=(2, 3, 6, 7))
LABELS = RNG.integers(0, 3, size=(2, 1, 6, 7))


def _oracle(x, labels, alpha, beta, gamma, form):
    e = np.exp(x - x.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    t = (np.arange(x.shape[1]).reshape(1, -1, 1, 1) == labels).astype(float)
    tp = (p * t).sum((2, 3))
    fp = (p * (1 - t)).sum((2, 3))
    fn = ((1 - p) * t).sum((2, 3))
    s = (tp + 1e-5) / (tp + alpha * fp + beta * fn + 1e-5)
    per = {"one_minus": (1 - s) ** gamma, "log_cosh": np.log(np.cosh(1 - s)), "negative": -s}[form]
    return per.mean()


@pytest.mark.parametrize("form,gamma", [("one_minus", 0.75), ("one_minus", 2.0), ("log_cosh", 1.0), ("negative", 1.0)])
def test_tversky_forms_match_oracle(form, gamma):
    kw = dict(softmax=True, overlap="tversky", alpha=0.3, beta=0.7, gamma=gamma, form=form)
    value, grad = dice.loss(X, LABELS, return_grad=True, **kw)
    assert value == pytest.approx(_oracle(X, LABELS, 0.3, 0.7, gamma, form), rel=1e-10)
    h = 1e-6
    for idx in [(0, 0, 1, 2), (1, 2, 5, 6), (0, 1, 3, 0)]:
        xp, xm = X.copy(), X.copy()
        xp[idx] += h
        xm[idx] -= h
        fd = (_oracle(xp, LABELS, 0.3, 0.7, gamma, form) - _oracle(xm, LABELS, 0.3, 0.7, gamma, form)) / (2 * h)
        assert grad[idx] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_bad_family_options():
    with pytest.raises(dice.OptionError, match="overlap"):
        dice.loss(X, LABELS, overlap="cosine")
    with pytest.raises(TypeError, match="unknown loss options"):
        dice.loss(X, LABELS, tversky_alpha=0.3)
    with pytest.raises(dice.DiceError):
        dice.loss(X, LABELS, overlap="tversky", alpha=-1.0)


def test_per_frame_rows_equal_each_frame_alone():
    x = RNG.normal(size=(2, 3, 4, 5, 6))
    labels = RNG.integers(0, 3, size=(2, 1, 4, 5, 6))
    values = dice.loss(x, labels, softmax=True, frames=True, reduction="none")
    assert values.shape == (2, 4, 3)
    for t in range(4):
        np.testing.assert_allclose(
            values[:, t], dice.dice_loss(x[:, :, t], labels[:, :, t], softmax=True, reduction="none"), rtol=1e-12
        )


def test_ramp():
    for step in (0, 3, 10, 25):
        r = min(step, 10) / 10
        assert dice.ramp("linear", 0.2, 1.0, 10, step) == pytest.approx(0.2 + 0.8 * r, rel=1e-15)
        assert dice.ramp("cosine", 0.2, 1.0, 10, step) == pytest.approx(0.2 + 0.8 * (1 - np.cos(np.pi * r)) / 2)
    assert dice.ramp("constant", 0.2, 1.0, 10, 0) == 1.0
    assert dice.ramp("linear", 0.2, 1.0, 0, 0) == 1.0
    with pytest.raises(dice.OptionError):
        dice.ramp("step", 0, 1, 1, 0)


def _softmax(x):
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_temporal_consistency_term():
    x = RNG.normal(size=(2, 3, 4, 5, 6))
    labels = RNG.integers(0, 3, size=(2, 1, 4, 5, 6))

    def oracle(x):
        p = _softmax(x)
        t = (np.arange(3).reshape(1, 3, 1, 1, 1) == labels).astype(float)
        i, ps, g = (p * t).sum((2, 3, 4)), p.sum((2, 3, 4)), t.sum((2, 3, 4))
        return (1 - (2 * i + 1e-5) / (ps + g + 1e-5)).mean() + 0.7 * ((p[:, :, 1:] - p[:, :, :-1]) ** 2).mean()

    value, grad = dice.loss(x, labels, softmax=True, temporal=0.7, return_grad=True)
    assert value == pytest.approx(oracle(x), rel=1e-10)
    h = 1e-6
    for idx in [(0, 0, 0, 1, 2), (1, 2, 3, 4, 5), (0, 1, 2, 0, 0)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        assert grad[idx] == pytest.approx((oracle(xp) - oracle(xm)) / (2 * h), rel=1e-5, abs=1e-9)
