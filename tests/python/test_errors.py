"""Bad input raises a typed DiceError (a ValueError) carrying the library's message."""

import numpy as np
import pytest

import dice

RNG = np.random.default_rng(3)
X = RNG.normal(size=(2, 3, 4, 5))
T = RNG.integers(0, 3, size=(2, 1, 4, 5))


def _raises(cls, match, *args, **kwargs):
    with pytest.raises(cls, match=match) as info:
        dice.dice_loss(*args, **kwargs)
    assert isinstance(info.value, dice.DiceError) and isinstance(info.value, ValueError)
    return info.value


def test_library_message_and_status():
    e = _raises(dice.LabelError, r"label 3 is outside \[0, 3\)", X, T + 1, softmax=True)
    assert e.status == 11 and e.status_name == "LABEL_OUT_OF_RANGE"
    assert "DICE_STATUS_LABEL_OUT_OF_RANGE" in str(e)


def test_negative_label_and_ignore_index():
    t = T.copy()
    t[0, 0, 0, 0] = -1
    _raises(dice.LabelError, "-1", X, t)
    assert np.isfinite(dice.dice_loss(X, t, ignore_index=-1))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 3, 4, 5), dtype=np.int32),  # integer input
        np.zeros((2, 3, 4, 5), dtype=np.float16),  # unsupported float
    ],
)
def test_input_dtype_from_library(bad):
    _raises(dice.DtypeError, "input", bad, T)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 3, 4, 5), dtype=np.complex128),
        np.empty((2, 3, 4, 5), dtype=object),
        np.zeros((2, 3, 4, 5), dtype="U1"),
    ],
)
def test_input_dtype_rejected_in_python(bad):
    e = _raises(dice.DtypeError, "input.dtype", bad, T)
    assert isinstance(e, TypeError) and e.status is None


def test_target_dtype():
    _raises(dice.DtypeError, "target", X, T.astype(np.complex64))
    _raises(dice.LabelError, "beyond any class index", X, np.full(T.shape, 2**63, np.uint64))
    expected = dice.dice_loss(X, T, softmax=True)
    for dtype in (np.int8, np.int16, np.uint32, np.uint64):  # widened in one pass to a dtype the library reads
        assert dice.dice_loss(X, T.astype(dtype), softmax=True) == expected


def test_byte_order_alignment_and_item_strides():
    _raises(dice.DtypeError, "byte order", X.astype(">f8"), T)
    raw = np.zeros(X.nbytes + 1, dtype=np.uint8)
    misaligned = raw[1:].view(np.float64).reshape(X.shape)
    assert not misaligned.flags.aligned
    _raises(dice.LayoutError, "aligned", misaligned, T)
    rec = np.zeros(X.shape, dtype=[("a", np.float64), ("b", np.float32)])
    _raises(dice.LayoutError, "aligned|multiples of the item size", rec["a"], T)


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4, 5, 2, 2, 2)])
def test_rank(shape):
    _raises(dice.NdimError, "rank|ndim", np.zeros(shape), np.zeros(shape))


def test_shape_mismatch_and_empty_batch():
    _raises(dice.ShapeError, "target", X, np.zeros((2, 3, 4, 6)))
    _raises(dice.ShapeError, "target", X, T[:, :, :3])
    _raises(dice.ShapeError, "input", np.zeros((0, 3, 4, 5)), np.zeros((0, 1, 4, 5), dtype=np.int64))


def test_none():
    _raises(dice.NullPointerError, "input is None", None, T)
    _raises(dice.NullPointerError, "target is None", X, None)


def test_non_integral_float_labels():
    _raises(dice.LabelError, "non-integral label 0.5", X, T + 0.5, softmax=True, to_onehot_y=True)
    _raises(dice.LabelError, "nan", X, np.full(T.shape, np.nan), softmax=True, to_onehot_y=True)


def test_options():
    _raises(dice.OptionError, "reduction", X, T, reduction="avg")
    _raises(dice.OptionError, "sigmoid=True and softmax=True", X, T, sigmoid=True, softmax=True)
    _raises(dice.OptionError, "smooth_nr", X, T, smooth_nr=-1.0)
    _raises(dice.OptionError, "smooth_dr", X, T, smooth_dr=float("nan"))
    _raises(dice.OptionError, "batch", X, T, batch=2)
    _raises(dice.WeightError, "weight", X, T, weight=[1.0, -1.0, 1.0])
    _raises(dice.WeightError, "weight", X, T, weight=[1.0, 1.0])
    with pytest.raises(TypeError):
        dice.dice_loss(X, T, ignore_index=1.5)


def test_non_finite_input_propagates():
    x = X.copy()
    x[1, 0, 0, 0] = np.nan
    values, grad = dice.dice_loss(x, T, reduction="none", return_grad=True)
    assert np.isnan(values[1]).any() and not np.isnan(values[0]).any()
    assert np.isnan(grad[1, 0]).any() and not np.isnan(grad[0]).any()


def test_empty_spatial_extent():
    x = np.zeros((2, 3, 0, 5))
    t = np.zeros((2, 1, 0, 5), dtype=np.int64)
    loss = dice.dice_loss(x, t, smooth_nr=1.0, smooth_dr=4.0)
    assert loss == pytest.approx(1 - 1.0 / 4.0)


def test_resource_statuses_map_to_their_classes():
    from dice._errors import STATUS, error_for

    assert STATUS[22] == ("OUT_OF_MEMORY", dice.OutOfMemoryError)
    assert STATUS[23] == ("TOO_LARGE", dice.LimitError)
    oom = error_for(22, "out of memory")
    assert isinstance(oom, MemoryError) and isinstance(oom, dice.DiceError) and oom.status == 22
    big = error_for(23, "num_classes: 70000 exceeds DICE_MAX_CLASSES")
    assert isinstance(big, OverflowError) and isinstance(big, ValueError) and "DICE_STATUS_TOO_LARGE" in str(big)


def test_limits_match_the_header():
    import re
    from pathlib import Path

    from dice import _errors

    header = (Path(__file__).resolve().parents[2] / "include" / "dice.h").read_text()
    for name in ("MAX_CLASSES", "MAX_THREADS"):
        m = re.search(rf"DICE_{name}\D+(\d+)", header)
        assert m and int(m.group(1)) == getattr(_errors, name), name
