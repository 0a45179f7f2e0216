"""Shared helpers: the vendored reference cases (tests/reference/npz) and their tolerances."""

import json
from pathlib import Path

import numpy as np
import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "npz"
MANIFEST = json.loads((REF / "manifest.json").read_text())
TOL = MANIFEST["tolerances"]


def cases(api):
    """Every reference case of one API, as pytest params with the case id."""
    found = [c for c in MANIFEST["cases"] if c["api"] == api]
    assert found, f"no reference case for {api}"
    return [pytest.param(c, id=c["id"]) for c in found]


def kwargs_of(raw):
    """Constructor/call keywords with {'__tensor__': v} turned into numpy arrays."""
    return {k: np.asarray(v["__tensor__"]) if isinstance(v, dict) and "__tensor__" in v else v for k, v in raw.items()}


def arrays_of(case):
    """The case's positional arrays, upcast as the reference computation did (float64)."""
    data = np.load(REF / case["file"])
    upcast = case.get("compute", {}).get("dtype") == "float64"
    out = []
    for name in case["args"]:
        a = data[name]
        out.append(a.astype(np.float64) if upcast and a.dtype.kind == "f" else a)
    return out, data


def assert_close(actual, expected, tol, what=""):
    """|a - e| <= atol + rtol |e| elementwise; NaN must match NaN, inf the same inf."""
    t = TOL[tol]
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    np.testing.assert_allclose(a, e, rtol=t["rtol"], atol=t["atol"], equal_nan=True, err_msg=what)


def assert_matches_case(case, data, value, grad=None):
    """Compares an output (and the input gradient) with the case's expected arrays."""
    exp = case["expected"]
    main = next(k for k in exp if k != "grad_input")
    assert_close(value, data[exp[main]["array"]], exp[main]["tol"], f"{case['id']}: {main}")
    if grad is not None:
        g = exp["grad_input"]
        assert_close(grad, data[g["array"]], g["tol"], f"{case['id']}: grad_input")
