"""dice.metrics against brute-force numpy oracles; layouts; bad input."""

import itertools

import numpy as np
import pytest

import dice
from dice import metrics

RNG = np.random.default_rng(21)


def _onehot(labels, c):
    return (np.arange(c).reshape(1, c, *([1] * (labels.ndim - 1))) == labels[:, None]).astype(np.uint8)


def _counts_oracle(p, y):
    """(tp, fp, fn, tn) per (item, class) of two (N, C, ...) boolean arrays."""
    axes = tuple(range(2, p.ndim))
    p, y = p.astype(bool), y.astype(bool)
    return np.stack([(p & y).sum(axes), (p & ~y).sum(axes), (~p & y).sum(axes), (~p & ~y).sum(axes)], -1)


def test_confusion_every_decision_kind():
    n, c = 2, 4
    scores = RNG.normal(size=(n, c, 7, 9))
    labels = RNG.integers(0, c, size=(n, 7, 9))
    y = _onehot(labels, c)
    am = _onehot(scores.argmax(1), c)
    expected = _counts_oracle(am, y)
    np.testing.assert_array_equal(metrics.confusion(scores, y, pred_kind="argmax"), expected)
    np.testing.assert_array_equal(metrics.confusion(am, labels[:, None], gt_kind="labels"), expected)
    np.testing.assert_array_equal(metrics.confusion(am.astype(bool), y), expected)
    np.testing.assert_array_equal(
        metrics.confusion(scores.argmax(1), labels, num_classes=c, pred_kind="labels", gt_kind="labels"), expected)
    th = metrics.confusion(scores, y, pred_kind="threshold", threshold=0.3)
    np.testing.assert_array_equal(th, _counts_oracle(scores >= 0.3, y))


def test_overlap_metrics_formulas():
    p = (RNG.random((3, 3, 10, 10)) < 0.4).astype(np.uint8)
    y = (RNG.random((3, 3, 10, 10)) < 0.4).astype(np.uint8)
    tp, fp, fn, tn = np.moveaxis(_counts_oracle(p, y).astype(np.float64), -1, 0)
    counts = metrics.confusion(p, y)
    expected = {
        "dice": 2 * tp / (2 * tp + fp + fn), "iou": tp / (tp + fp + fn), "precision": tp / (tp + fp),
        "recall": tp / (tp + fn), "specificity": tn / (tn + fp), "npv": tn / (tn + fn),
        "accuracy": (tp + tn) / (tp + fp + fn + tn),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(metrics.overlap_metric(counts, name), value, rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(metrics.overlap_metric(counts, "dice", include_background=False),
                               expected["dice"][:, 1:], rtol=1e-12)


def test_empty_ground_truth_conventions():
    p = np.zeros((1, 2, 4, 4), np.uint8)
    y = np.zeros((1, 2, 4, 4), np.uint8)
    p[0, 1, 0, 0] = 1
    counts = metrics.confusion(p, y)
    assert np.isnan(metrics.overlap_metric(counts, "dice", empty_gt="nan")).all()
    np.testing.assert_array_equal(metrics.overlap_metric(counts, "dice", empty_gt="one_if_both_empty"), [[1.0, 0.0]])
    np.testing.assert_array_equal(metrics.overlap_metric(counts, "dice", empty_gt="zero"), [[0.0, 0.0]])


def test_decision_layouts_equal_contiguous():
    base = (RNG.random((4, 3, 12, 14)) < 0.5).astype(np.uint8)
    gt = (RNG.random((4, 3, 12, 14)) < 0.5).astype(np.uint8)
    views = [lambda a: a[::2, :, 1::2, ::3], lambda a: a[:, :, ::-1, ::-2], lambda a: np.asfortranarray(a),
             lambda a: np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1)]
    for view in views:
        p, y = view(base), view(gt)
        np.testing.assert_array_equal(metrics.confusion(p, y), metrics.confusion(p.copy(), y.copy()))
        np.testing.assert_array_equal(metrics.surface_metric(p, y, "hausdorff"),
                                      metrics.surface_metric(np.ascontiguousarray(p), np.ascontiguousarray(y),
                                                             "hausdorff"))


def _brute_distance(mask, spacing, metric):
    """Distance from every voxel to the nearest nonzero voxel of mask, by brute force."""
    pts = np.argwhere(mask)
    out = np.full(mask.shape, np.inf)
    for idx in itertools.product(*map(range, mask.shape)):
        if len(pts):
            d = (pts - np.array(idx)) * spacing
            if metric == "euclidean":
                out[idx] = np.sqrt((d ** 2).sum(1)).min()
            elif metric == "chessboard":
                out[idx] = np.abs(d).max(1).min()
            else:
                out[idx] = np.abs(d).sum(1).min()
    return out


@pytest.mark.parametrize("metric", ["euclidean", "chessboard", "taxicab"])
def test_distance_transform_brute_force(metric):
    mask = RNG.random((6, 7, 5)) < 0.08
    spacing = np.array([1.5, 0.7, 1.1]) if metric == "euclidean" else np.ones(3)
    got = metrics.distance_transform(mask, spacing=spacing if metric == "euclidean" else None, metric=metric)
    np.testing.assert_allclose(got, _brute_distance(mask, spacing, metric), rtol=1e-12, atol=1e-12)
    assert np.isinf(metrics.distance_transform(np.zeros((3, 3), bool))).all()


def test_signed_distance_maps_and_boundary_loss():
    labels = np.zeros((1, 9, 10), np.int64)
    labels[0, 2:6, 3:8] = 1
    phi = metrics.signed_distance_maps(labels[:, None], num_classes=2, kind="labels")
    fg = labels[0] == 1
    outside = _brute_distance(fg, np.ones(2), "euclidean")
    inside = _brute_distance(~fg, np.ones(2), "euclidean")
    np.testing.assert_allclose(phi[0, 1], np.where(fg, -inside, outside), atol=1e-12)
    x = RNG.normal(size=(1, 2, 9, 10))
    e = np.exp(x - x.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    loss, grad = metrics.boundary_loss(x, phi, softmax=True, include_background=False, return_grad=True)
    assert loss == pytest.approx((phi[:, 1:] * p[:, 1:]).mean(), rel=1e-12)
    h = 1e-6
    for idx in [(0, 0, 3, 4), (0, 1, 2, 3), (0, 1, 8, 9)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        fd = (metrics.boundary_loss(xp, phi, softmax=True, include_background=False)
              - metrics.boundary_loss(xm, phi, softmax=True, include_background=False)) / (2 * h)
        assert grad[idx] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_metric_bad_input():
    p = np.zeros((2, 3, 5, 5), np.uint8)
    with pytest.raises(dice.DtypeError, match="0 and 1"):
        metrics.confusion(p + 0.5, p)
    with pytest.raises(dice.ShapeError):
        metrics.confusion(p, p[:, :, :4])
    with pytest.raises(dice.DtypeError):
        metrics.confusion(p.astype(np.float32), p, pred_kind="labels")
    with pytest.raises(dice.OptionError):
        metrics.overlap_metric(metrics.confusion(p, p), "f2")
    with pytest.raises(dice.OptionError):
        metrics.reduce_metric(np.zeros((2, 3)), "median")
    with pytest.raises(dice.NotANumberError):
        metrics.surface_metric(p, p, "hausdorff", spacing=[1.0, float("nan")])
    with pytest.raises(dice.NullPointerError):
        metrics.confusion(None, p)
