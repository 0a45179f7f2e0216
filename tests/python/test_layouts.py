"""Any numpy layout gives the results of a contiguous copy, without copying the data."""

import numpy as np
import pytest

import dice
from dice._tensor import Tensor

RNG = np.random.default_rng(7)
SHAPE = (2, 3, 5, 6, 7)


def _labels(shape):
    return RNG.integers(0, SHAPE[1], size=shape).astype(np.int64)


def _cases(dtype):
    """(name, input view, target view) for several layouts of the same logical data."""
    big = RNG.normal(size=(4, 3, 11, 13, 9)).astype(dtype)
    big_t = _labels((4, 1, 11, 13, 9))
    cl = np.moveaxis(RNG.normal(size=(2, 5, 6, 7, 3)).astype(dtype), -1, 1)  # channels-last
    x = RNG.normal(size=SHAPE).astype(dtype)
    t = _labels((2, 1, 5, 6, 7))
    onehot = (np.arange(3).reshape(1, 3, 1, 1, 1) == t).astype(dtype)
    return [
        ("strided", big[::2, :, ::2, ::2, ::2][:, :, :5, :6, :5], big_t[::2, :, ::2, ::2, ::2][:, :, :5, :6, :5]),
        ("sliced", big[1:3, :, 2:7, 3:9, 1:8], big_t[1:3, :, 2:7, 3:9, 1:8]),
        ("channels_last", cl, np.moveaxis(_labels((2, 5, 6, 7, 1)), -1, 1)),
        ("fortran", np.asfortranarray(x), np.asfortranarray(t)),
        ("negative", x[:, ::-1, ::-1, :, ::-1], t[:, :, ::-1, :, ::-1]),
        ("broadcast_target", x, np.broadcast_to(t[:, :, :1], t.shape)),
        ("dense_fortran", np.asfortranarray(x), np.asfortranarray(onehot)),
        ("dense_negative", x[..., ::-1], onehot[:, ::-1, ..., ::-1]),
        ("label_no_channel_axis", x, t[:, 0]),
    ]


OPTIONS = [
    dict(softmax=True, to_onehot_y=True),
    dict(sigmoid=True, include_background=False, squared_pred=True, batch=True),
    dict(softmax=True, jaccard=True, reduction="none", ignore_index=2),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", OPTIONS, ids=["softmax", "sigmoid_sq_batch", "jaccard_none_ignore"])
def test_layout_equals_contiguous(dtype, opts):
    for name, x, t in _cases(dtype):
        kw = {k: v for k, v in opts.items() if not (k == "to_onehot_y" and t.dtype.kind == "f")}
        assert not (x.flags.c_contiguous and t.flags.c_contiguous) or name == "label_no_channel_axis"
        loss, grad = dice.dice_loss(x, t, return_grad=True, **kw)
        ref_loss, ref_grad = dice.dice_loss(np.ascontiguousarray(x), np.ascontiguousarray(t), return_grad=True, **kw)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(loss, ref_loss, rtol=rtol, atol=0, err_msg=name)
        np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=1e-7 if dtype == np.float32 else 1e-15, err_msg=name)
        assert grad.dtype == x.dtype and grad.shape == x.shape, name
        # The gradient keeps the input's memory order (e.g. channels-last stays channels-last).
        assert np.argsort(np.abs(grad.strides)).tolist() == np.argsort(np.abs(np.empty_like(x).strides)).tolist()


def test_views_are_not_copied():
    base = np.zeros((4, 3, 8, 8), dtype=np.float32)
    for view in (base[:, :, ::2, 1::3], base[::-1, :, ::-1], np.moveaxis(base, 1, -1), base.T):
        t = Tensor(view, "input").struct
        assert t.data + t.byte_offset == view.ctypes.data
        assert [t.strides[i] * 4 for i in range(view.ndim)] == list(view.strides)
        # data points at the lowest addressed byte, inside the original buffer
        assert base.ctypes.data <= t.data < base.ctypes.data + base.nbytes


def test_float32_matches_float64():
    x = RNG.normal(size=(2, 4, 9, 10)).astype(np.float64)
    t = _labels((2, 1, 9, 10)) % 4
    l64, g64 = dice.dice_loss(x, t, softmax=True, to_onehot_y=True, return_grad=True)
    l32, g32 = dice.dice_loss(x.astype(np.float32), t, softmax=True, to_onehot_y=True, return_grad=True)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(l32, l64, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("label_dtype", [np.bool_, np.uint8, np.uint16, np.int32, np.int64])
def test_label_dtypes(label_dtype):
    x = RNG.normal(size=(2, 2, 6, 6))
    t = RNG.integers(0, 2, size=(2, 1, 6, 6))
    ref = dice.dice_loss(x, t.astype(np.int64), softmax=True, to_onehot_y=True, return_grad=True)
    got = dice.dice_loss(x, t.astype(label_dtype), softmax=True, to_onehot_y=True, return_grad=True)
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])
    # float label maps (MONAI's convention) are converted
    f = dice.dice_loss(x, t.astype(np.float32), softmax=True, to_onehot_y=True, return_grad=True)
    assert f[0] == ref[0]
