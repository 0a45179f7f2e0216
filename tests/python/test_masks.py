"""dice._masks: what the metric kernels are handed for each input dtype, and what it costs."""

import tracemalloc

import numpy as np
import pytest

import dice
from dice._masks import as_labels, as_mask

INTS = [np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint32, np.uint64]


def test_bool_and_uint8_pass_through_uncopied():
    for dt in (np.bool_, np.uint8):
        a = np.zeros((3, 4), dt)
        assert as_mask(a, "a") is a
    v = np.zeros((4, 6), np.uint8)[:, ::2]  # a strided view stays a view
    assert as_mask(v, "v") is v


@pytest.mark.parametrize("dt", INTS + [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_other_dtypes_narrow_to_bool(dt):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, (5, 7)).astype(dt)
    if np.dtype(dt).kind != "f":
        a[a == 1] = 3  # any nonzero integer is a member
    m = as_mask(a, "a")
    assert m.dtype == np.bool_ and m.shape == a.shape
    np.testing.assert_array_equal(m, a != 0)


@pytest.mark.parametrize("bad", [0.5, np.nan, -1.0, 2.0])
def test_floats_other_than_0_and_1_raise(bad):
    a = np.zeros((3, 3), np.float32)
    a[1, 1] = bad
    with pytest.raises(dice.DtypeError, match="0 and 1"):
        as_mask(a, "a")


def test_non_numeric_masks_raise():
    with pytest.raises(dice.DtypeError):
        as_mask(np.zeros(3, np.complex64), "a")
    with pytest.raises(dice.NullPointerError):
        as_mask(None, "a")


def test_int64_mask_costs_one_output_buffer():
    """One pass, no chain of temporaries: the only allocation is the bool result."""
    a = np.ones((64, 64, 64), np.int64)
    tracemalloc.start()
    try:
        m = as_mask(a, "a")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert m.dtype == np.bool_
    assert peak <= a.size + 64 * 1024, peak


def test_labels():
    for dt in (np.bool_, np.uint8, np.uint16, np.int32, np.int64):
        a = np.arange(6).astype(dt)
        assert as_labels(a, "a") is a
    for dt in (np.int8, np.int16, np.uint32, np.uint64):
        out = as_labels(np.arange(6).astype(dt), "a")
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out, np.arange(6))
    np.testing.assert_array_equal(as_labels(np.array([0.0, 1.0, 2.9]), "a"), [0, 1, 2])  # truncated, as .long()
    with pytest.raises(dice.DtypeError):
        as_labels(np.array([0.0, np.nan]), "a")
    with pytest.raises(dice.DtypeError):
        as_labels(np.array(["a"]), "a")


@pytest.mark.parametrize("dt", INTS + [np.bool_, np.uint8, np.float32], ids=lambda d: np.dtype(d).name)
def test_metrics_accept_every_mask_dtype(dt):
    rng = np.random.default_rng(1)
    p, g = rng.integers(0, 2, (2, 3, 9, 8)), rng.integers(0, 2, (2, 3, 9, 8))
    ref = dice.metrics.confusion(p.astype(np.uint8), g.astype(np.uint8))
    np.testing.assert_array_equal(
        dice.metrics.confusion(p.astype(dt), g.astype(dt), pred_kind="masks", gt_kind="masks"), ref
    )
    ref_hd = dice.metrics.surface_metric(p.astype(np.uint8), g.astype(np.uint8), "hausdorff")
    np.testing.assert_array_equal(
        dice.metrics.surface_metric(p.astype(dt), g.astype(dt), "hausdorff", pred_kind="masks", gt_kind="masks"), ref_hd
    )
    np.testing.assert_array_equal(
        dice.metrics.distance_transform(p[0, 0].astype(dt)), dice.metrics.distance_transform(p[0, 0].astype(np.uint8))
    )
