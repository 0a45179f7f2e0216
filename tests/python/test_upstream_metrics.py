"""MONAI 1.6's own metric test tables (tests/reference/upstream/metrics_*.json: inputs, keywords
and expected values of each literal case, generated inputs as generator parameters) run through
dice.compat.monai with numpy arrays, each within its upstream tolerance.

A case: `api` (a function, or a class with `init`), `calls` (keyword arguments; a class is called
once per entry, then `reset` if set), `aggregate` (keywords of aggregate(); absent: the last call's
value is the result, or the function's), `select` (indexing steps into the result: an int or a
list of ints, "each" maps the remaining steps over a list, "first" takes a list's first entry),
`check` and `expected`; with `variants` (init keywords) or `call_variants` (lists of calls), the
case runs once per variant and the results are compared with each other."""

import builtins
import json
from pathlib import Path

import numpy as np
import pytest

from dice.compat import monai as dm

DIR = Path(__file__).resolve().parents[1] / "reference" / "upstream"
FILES = sorted(DIR.glob("metrics_*.json"))


def _num(x):
    """JSON values back to floats: "nan", "inf", "-inf" strings, recursively."""
    if isinstance(x, str) and x in ("nan", "inf", "-inf"):
        return float(x)
    if isinstance(x, list):
        return [_num(v) for v in x]
    if isinstance(x, dict):
        return {k: _num(v) for k, v in x.items()}
    return x


def _sphere(radius, centre, im_shape, im_spacing):
    """int32 image, 1 where the spacing-scaled distance of the voxel index to `centre` is <= radius
    (MONAI's create_spherical_seg_3d: the index is scaled first, then the centre subtracted)."""
    grids = np.ogrid[tuple(slice(0, n) for n in im_shape)]
    r2 = sum((g.astype(np.float64) * s - c) ** 2 for g, s, c in zip(grids, im_spacing, centre))
    return (r2 <= radius * radius).astype(np.int32)


def _index(steps):
    return tuple(slice(None) if s is None else slice(*s) if isinstance(s, list) else s for s in steps)


def _build(spec, arrays):
    """An input value from its JSON spec (plain values pass through)."""
    if not isinstance(spec, dict):
        return _num(spec)
    if "ref" in spec:
        a = _build(arrays[spec["ref"]], arrays)
    elif "list" in spec:
        return [_build(s, arrays) for s in spec["list"]]
    elif "array" in spec:
        a = np.array(_num(spec["array"]), dtype=spec["dtype"])
    elif "full" in spec:
        a = np.full(spec["shape"], spec["full"], dtype=spec["dtype"])
    elif "zeros" in spec:
        a = np.zeros(spec["zeros"], dtype=spec["dtype"])
        for steps, value in spec["set"]:
            a[_index(steps)] = value
        if "onehot" in spec:
            a = np.moveaxis(np.eye(spec["onehot"], dtype=spec["dtype"])[a.astype(np.int64)], -1, 1)
    elif "random_binary" in spec:
        a = np.random.default_rng(spec["seed"]).integers(0, 2, spec["random_binary"]).astype(np.float32)
    elif "sphere" in spec:
        a = _sphere(**spec["sphere"])
    else:
        raise KeyError(f"unknown input spec {sorted(spec)}")
    if "expand" in spec:
        a = np.ascontiguousarray(np.broadcast_to(a, (*spec["expand"], *a.shape)))
    return a


def _select(result, steps):
    for i, step in enumerate(steps):
        if step == "each":
            return [_select(r, steps[i + 1 :]) for r in result]
        if step == "first":  # the first entry of a list result (ConfusionMatrixMetric), anything else as is
            result = result[0] if isinstance(result, list) else result
            continue
        result = result[tuple(step)] if isinstance(step, list) else result[step]
    return result


def _execute(case, arrays):
    api = getattr(dm, case["api"])
    calls = [{k: _build(v, arrays) for k, v in c.items()} for c in case["calls"]]
    if case["kind"] == "function":
        return api(**calls[0])
    metric = api(**_num(case.get("init", {})))
    out = None
    for kw in calls:
        out = metric(**kw)
    if case.get("reset"):
        metric.reset()
    if "aggregate" in case:
        out = metric.aggregate(**case["aggregate"])
    return out


def _close(actual, expected, case):
    if isinstance(expected, list) and isinstance(actual, list):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            _close(a, e, case)
        return
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=case["rtol"],
        atol=case["atol"],
    )


def _cases():
    for path in FILES:
        doc = json.loads(path.read_text())
        for case in doc["cases"]:
            yield pytest.param(doc["arrays"], case, id=f"{path.stem}::{case['id']}")


@pytest.mark.parametrize("arrays, case", list(_cases()))
def test_upstream_case(arrays, case):
    check = case["check"]
    if check == "raises":
        with pytest.raises(getattr(builtins, case["raises"])):
            _execute(case, arrays)
        return
    if "variants" in case or "call_variants" in case:  # one run per variant, results compared with each other
        runs = [dict(case, init=dict(case.get("init", {}), **v)) for v in case.get("variants", [])]
        runs += [dict(case, calls=calls) for calls in case.get("call_variants", [])]
        results = [np.asarray(_select(_execute(run, arrays), case.get("select", [])), dtype=np.float64) for run in runs]
        if check == "strictly_increasing":
            assert all(a < b for a, b in zip(results, results[1:])), results
        elif check == "all_equal":
            for r in results[1:]:
                np.testing.assert_array_equal(r, results[0])
        elif check == "all_close":
            for r in results[1:]:
                np.testing.assert_allclose(r, results[0], rtol=case["rtol"], atol=case["atol"])
        else:
            raise AssertionError(f"unknown check {check!r}")
        return
    result = _select(_execute(case, arrays), case.get("select", []))
    expected = _num(case.get("expected"))
    if check == "allclose":
        _close(result, expected, case)
    elif check == "allclose_sorted":
        _close(np.sort(np.asarray(result, dtype=np.float64)), expected, case)
    elif check == "allclose_pair":
        _close(result[0], expected[0], case)
        _close(result[1], expected[1], case)
    elif check == "equal":
        assert result == expected
    elif check == "isnan":
        np.testing.assert_array_equal(np.isnan(np.asarray(result, dtype=np.float64)), expected)
    elif check == "shape":
        assert np.shape(result) == tuple(expected)
    elif check == "pair_of_arrays":
        assert isinstance(result, tuple) and len(result) == 2
        assert all(isinstance(r, np.ndarray) for r in result)
    else:
        raise AssertionError(f"unknown check {check!r}")


def test_every_upstream_file_is_present():
    names = {p.name for p in FILES}
    for stem in (
        "compute_meandice",
        "compute_meaniou",
        "compute_generalized_dice",
        "hausdorff_distance",
        "surface_distance",
        "surface_dice",
        "compute_confusion_matrix",
        "compute_f_beta",
        "absolute_volume_difference",
        "ignore_index_metrics",
    ):
        assert f"metrics_{stem}.json" in names
