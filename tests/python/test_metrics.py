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
        metrics.confusion(scores.argmax(1), labels, num_classes=c, pred_kind="labels", gt_kind="labels"), expected
    )
    th = metrics.confusion(scores, y, pred_kind="threshold", threshold=0.3)
    np.testing.assert_array_equal(th, _counts_oracle(scores >= 0.3, y))


def test_overlap_metrics_formulas():
    p = (RNG.random((3, 3, 10, 10)) < 0.4).astype(np.uint8)
    y = (RNG.random((3, 3, 10, 10)) < 0.4).astype(np.uint8)
    tp, fp, fn, tn = np.moveaxis(_counts_oracle(p, y).astype(np.float64), -1, 0)
    counts = metrics.confusion(p, y)
    expected = {
        "dice": 2 * tp / (2 * tp + fp + fn),
        "iou": tp / (tp + fp + fn),
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "specificity": tn / (tn + fp),
        "npv": tn / (tn + fn),
        "accuracy": (tp + tn) / (tp + fp + fn + tn),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(metrics.overlap_metric(counts, name), value, rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(
        metrics.overlap_metric(counts, "dice", include_background=False), expected["dice"][:, 1:], rtol=1e-12
    )


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
    views = [
        lambda a: a[::2, :, 1::2, ::3],
        lambda a: a[:, :, ::-1, ::-2],
        lambda a: np.asfortranarray(a),
        lambda a: np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1),
    ]
    for view in views:
        p, y = view(base), view(gt)
        np.testing.assert_array_equal(metrics.confusion(p, y), metrics.confusion(p.copy(), y.copy()))
        np.testing.assert_array_equal(
            metrics.surface_metric(p, y, "hausdorff"),
            metrics.surface_metric(np.ascontiguousarray(p), np.ascontiguousarray(y), "hausdorff"),
        )


def _brute_distance(mask, spacing, metric):
    """Distance from every voxel to the nearest nonzero voxel of mask, by brute force."""
    pts = np.argwhere(mask)
    out = np.full(mask.shape, np.inf)
    for idx in itertools.product(*map(range, mask.shape)):
        if len(pts):
            d = (pts - np.array(idx)) * spacing
            if metric == "euclidean":
                out[idx] = np.sqrt((d**2).sum(1)).min()
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
        fd = (
            metrics.boundary_loss(xp, phi, softmax=True, include_background=False)
            - metrics.boundary_loss(xm, phi, softmax=True, include_background=False)
        ) / (2 * h)
        assert grad[idx] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_metric_bad_input():
    p = np.zeros((2, 3, 5, 5), np.uint8)
    with pytest.raises(dice.DtypeError, match="0 and 1"):
        metrics.confusion(p + 0.5, p)
    with pytest.raises(dice.ShapeError):
        metrics.confusion(p, p[:, :, :4])
    with pytest.raises(dice.DtypeError):
        metrics.confusion(np.full((2, 1, 5, 5), np.nan), p, pred_kind="labels")
    with pytest.raises(dice.DtypeError):
        metrics.confusion(p.astype(np.complex64), p)
    with pytest.raises(dice.OptionError):
        metrics.overlap_metric(metrics.confusion(p, p), "f2")
    with pytest.raises(dice.OptionError):
        metrics.reduce_metric(np.zeros((2, 3)), "median")
    with pytest.raises(dice.NotANumberError):
        metrics.surface_metric(p, p, "hausdorff", spacing=[1.0, float("nan")])
    with pytest.raises(dice.NullPointerError):
        metrics.confusion(None, p)


def _sd_oracle(gt, pred, spacing):
    """DeepMind's lists from the definition: neighbour codes on the padded corner grid (for
    the surfel set), brute-force nearest distances; areas taken from the library's own result
    (their values are checked against DeepMind's table in dice-core's tests)."""
    k = gt.ndim

    def surfels(m):
        pad = np.pad(m.astype(np.uint8), 1)
        corners = []
        for p in itertools.product(*[range(n + 1) for n in m.shape]):
            block = pad[tuple(slice(x, x + 2) for x in p)]
            if 0 < block.sum() < 2**k:
                corners.append(p)
        return np.array(corners, dtype=np.float64).reshape(-1, k)

    sg, sp = surfels(gt), surfels(pred)
    s = np.asarray(spacing, dtype=np.float64)

    def nearest(a, b):
        if len(b) == 0:
            return np.full(len(a), np.inf)
        return np.sqrt((((a[:, None, :] - b[None, :, :]) * s) ** 2).sum(-1)).min(1)

    return np.sort(nearest(sg, sp)), np.sort(nearest(sp, sg))


@pytest.mark.parametrize("shape,spacing", [((9, 11), (0.7, 1.3)), ((5, 6, 7), (2.5, 0.8, 1.1))])
def test_surface_distances_deepmind_oracle_and_layouts(shape, spacing):
    from dice.compat import surface_distance as sd

    gt = RNG.random(shape) < 0.35
    pred = RNG.random(shape) < 0.35
    d = sd.compute_surface_distances(gt, pred, spacing)
    want_g, want_p = _sd_oracle(gt, pred, spacing)
    np.testing.assert_allclose(d["distances_gt_to_pred"], want_g, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d["distances_pred_to_gt"], want_p, rtol=1e-12, atol=1e-12)
    assert (d["surfel_areas_gt"] > 0).all() and d["surfel_areas_gt"].shape == want_g.shape
    # Strided and Fortran-ordered views give the same lists.
    big_g = np.zeros(tuple(2 * n for n in shape), dtype=bool)
    big_g[tuple(slice(None, None, 2) for _ in shape)] = gt
    d2 = sd.compute_surface_distances(
        big_g[tuple(slice(None, None, 2) for _ in shape)], np.asfortranarray(pred), spacing
    )
    for key in d:
        np.testing.assert_array_equal(d[key], d2[key])
    # Derived metrics from the lists, as DeepMind computes them.
    g, a = d["distances_gt_to_pred"], d["surfel_areas_gt"]
    p, b = d["distances_pred_to_gt"], d["surfel_areas_pred"]
    asd = sd.compute_average_surface_distance(d)
    np.testing.assert_allclose(asd, ((g * a).sum() / a.sum(), (p * b).sum() / b.sum()), rtol=1e-12)
    tol = 1.0
    np.testing.assert_allclose(
        sd.compute_surface_dice_at_tolerance(d, tol),
        (a[g <= tol].sum() + b[p <= tol].sum()) / (a.sum() + b.sum()),
        rtol=1e-12,
    )
    idx = min(np.searchsorted(np.cumsum(a) / a.sum(), 0.95), len(g) - 1)
    idx2 = min(np.searchsorted(np.cumsum(b) / b.sum(), 0.95), len(p) - 1)
    assert sd.compute_robust_hausdorff(d, 95) == max(g[idx], p[idx2])


def test_surface_distances_deepmind_empty_and_errors():
    from dice.compat import surface_distance as sd

    z = np.zeros((4, 5, 6), dtype=bool)
    one = z.copy()
    one[1, 2, 3] = True
    d = sd.compute_surface_distances(z, z, (1.0, 1.0, 1.0))
    assert all(v.size == 0 for v in d.values())
    assert np.isnan(sd.compute_surface_dice_at_tolerance(d, 1.0))
    assert sd.compute_robust_hausdorff(d, 95) == np.inf
    d = sd.compute_surface_distances(z, one, (1.0, 2.0, 3.0))
    assert d["distances_gt_to_pred"].size == 0 and np.isinf(d["distances_pred_to_gt"]).all()
    assert abs(d["surfel_areas_pred"].sum() - 7.0) < 1e-12  # the voxel's octahedron: sqrt(36 + 9 + 4)
    assert sd.compute_surface_dice_at_tolerance(d, 1.0) == 0.0
    gt_asd, pred_asd = sd.compute_average_surface_distance(d)
    assert np.isnan(gt_asd) and pred_asd == np.inf
    with pytest.raises(dice.DiceError):
        sd.compute_surface_distances(z.astype(np.uint8), z, (1.0, 1.0, 1.0))
    with pytest.raises(dice.DiceError):
        sd.compute_surface_distances(z, z[:, :, :5], (1.0, 1.0, 1.0))
    with pytest.raises(dice.DiceError):
        sd.compute_surface_distances(z, z, (1.0, 1.0))
    with pytest.raises(dice.DiceError):
        sd.compute_surface_distances(np.zeros((2, 2, 2, 2), bool), np.zeros((2, 2, 2, 2), bool), (1.0,) * 4)
    bad = {
        "distances_gt_to_pred": np.array([2.0, 1.0]),
        "surfel_areas_gt": np.ones(2),
        "distances_pred_to_gt": np.array([]),
        "surfel_areas_pred": np.array([]),
    }
    with pytest.raises(dice.DiceError):
        sd.compute_robust_hausdorff(bad, 95)
    with pytest.raises(dice.DiceError):
        sd.compute_surface_dice_at_tolerance(d, float("nan"))
