"""Every metric reference case (MONAI, torchmetrics, medpy, DeepMind surface_distance) through
the compat layers."""

import pytest

from conftest import arrays_of, assert_close, cases, kwargs_of
from dice.compat import medpy, monai, surface_distance, torchmetrics

MONAI_METRICS = ["DiceMetric", "MeanIoU", "HausdorffDistanceMetric", "SurfaceDistanceMetric", "SurfaceDiceMetric"]


@pytest.mark.parametrize("case", [c for name in MONAI_METRICS for c in cases(f"monai.metrics.{name}")])
def test_monai_metric(case):
    (y_pred, y), data = arrays_of(case)
    cls = getattr(monai, case["api"].rsplit(".", 1)[1])
    m = cls(**kwargs_of(case["init_kwargs"]))
    per_item = m(y_pred=y_pred, y=y, **kwargs_of(case["call_kwargs"]))
    exp = case["expected"]
    assert_close(per_item, data[exp["per_item"]["array"]], exp["per_item"]["tol"], f"{case['id']}: per_item")
    agg = m.aggregate()
    if "not_nans" in exp:
        agg, not_nans = agg
        assert_close(not_nans, data[exp["not_nans"]["array"]], exp["not_nans"]["tol"], f"{case['id']}: not_nans")
    assert_close(agg, data[exp["aggregate"]["array"]], exp["aggregate"]["tol"], f"{case['id']}: aggregate")


@pytest.mark.parametrize("case", cases("torchmetrics.segmentation.GeneralizedDiceScore"))
def test_torchmetrics_generalized_dice_score(case):
    (preds, target), data = arrays_of(case)
    m = torchmetrics.GeneralizedDiceScore(**kwargs_of(case["init_kwargs"]))
    exp = case["expected"]["score"]
    assert_close(m(preds, target), data[exp["array"]], exp["tol"], case["id"])
    assert_close(m.compute(), data[exp["array"]], exp["tol"], case["id"] + " compute")


@pytest.mark.parametrize("case", cases("medpy.metric.binary"))
def test_medpy(case):
    (result, reference), data = arrays_of(case)
    kw = kwargs_of(case["call_kwargs"])
    for name in kw["functions"]:
        exp = case["expected"][name]
        value = getattr(medpy, name)(result, reference, voxelspacing=kw["voxelspacing"])
        assert_close(value, data[exp["array"]], exp["tol"], f"{case['id']}: {name}")


@pytest.mark.parametrize("case", cases("surface_distance.compute_surface_distances"))
def test_deepmind_surface_distance(case):
    (mask_gt, mask_pred), data = arrays_of(case)
    d = surface_distance.compute_surface_distances(
        mask_gt.astype(bool), mask_pred.astype(bool), case["call_kwargs"]["spacing_mm"]
    )
    derived = {
        "surface_dice": surface_distance.compute_surface_dice_at_tolerance,
        "surface_overlap": surface_distance.compute_surface_overlap_at_tolerance,
        "robust_hausdorff": surface_distance.compute_robust_hausdorff,
    }
    checked = 0
    for key, exp in case["expected"].items():
        name, _, param = key.partition("@")
        if name == "average_surface_distance":
            value = surface_distance.compute_average_surface_distance(d)
        else:
            value = derived[name](d, float(param))
        assert_close(value, data[exp["array"]], exp["tol"], f"{case['id']}: {key}")
        checked += 1
    assert checked == 9
