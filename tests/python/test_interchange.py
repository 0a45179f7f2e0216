"""Tensor interchange: DLPack producers (torch here) and __array_interface__ objects are read in
place, with their strides; a tensor off the CPU raises DeviceError naming .cpu()."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dice  # noqa: E402
from dice._tensor import Tensor, host_array  # noqa: E402
from dice.compat import monai, smp  # noqa: E402

RNG = np.random.default_rng(12)


def _logits():
    return torch.from_numpy(RNG.standard_normal((2, 3, 4, 6)))


VIEWS = {
    "contiguous": lambda t: t,
    "permuted": lambda t: t.permute(0, 1, 3, 2),  # (2, 3, 6, 4), transposed strides
    "channels_last": lambda t: t.contiguous(memory_format=torch.channels_last),
    "sliced": lambda t: t[:, :, 1:, ::2],  # offset and stepped
    "expanded_batch": lambda t: t[:1].expand(2, -1, -1, -1),  # zero batch stride
}


def _address(a):
    return a.__array_interface__["data"][0]


@pytest.mark.parametrize("view", list(VIEWS))
def test_torch_views_are_read_in_place(view):
    t = VIEWS[view](_logits())
    a = host_array(t, "input")
    assert np.shares_memory(a, t.numpy())
    assert a.strides == tuple(s * t.element_size() for s in t.stride())
    d = Tensor(t, "input").struct
    assert d.data + d.byte_offset == t.data_ptr()  # the DiceTensor points at the tensor's first element


@pytest.mark.parametrize("view", list(VIEWS))
def test_results_match_numpy_copies(view):
    x = VIEWS[view](_logits())
    labels = torch.from_numpy(RNG.integers(0, 3, size=(x.shape[0], 1, *x.shape[2:])))
    for loss in (monai.DiceLoss(softmax=True, to_onehot_y=True), monai.FocalLoss(to_onehot_y=True)):
        value, grad = loss(x, labels, return_grad=True)
        ref_value, ref_grad = loss(np.ascontiguousarray(x.numpy()), labels.numpy().copy(), return_grad=True)
        # the sums run in memory order, so another layout may differ in the last bits
        np.testing.assert_allclose(value, ref_value, rtol=1e-13)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


def test_tensor_requiring_grad_is_read_through_detach():
    x = _logits().requires_grad_()
    a = host_array(x, "input")
    assert np.shares_memory(a, x.detach().numpy())
    t = torch.from_numpy(RNG.integers(0, 2, size=x.shape).astype(np.float64))
    value, grad = monai.DiceLoss(sigmoid=True)(x, t, return_grad=True)
    assert value == monai.DiceLoss(sigmoid=True)(x.detach().numpy(), t.numpy())
    assert grad.shape == tuple(x.shape) and x.grad is None


@pytest.mark.parametrize(
    "dtype", [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float32]
)
def test_torch_targets_of_every_dtype(dtype):
    x = _logits()
    labels = RNG.integers(0, 2, size=(2, *x.shape[2:]))
    t = torch.from_numpy(labels).to(dtype)
    assert np.shares_memory(host_array(t, "target"), t.numpy())
    value = smp.DiceLoss("multiclass")(x[:, :2], t)
    assert value == smp.DiceLoss("multiclass")(x[:, :2].numpy(), labels)


class _ArrayInterface:
    """Exposes a numpy array's memory through __array_interface__ only."""

    def __init__(self, a):
        self._a = a
        self.__array_interface__ = a.__array_interface__


def test_array_interface_is_read_in_place():
    base = RNG.standard_normal((2, 3, 5, 4)).transpose(0, 1, 3, 2)
    obj = _ArrayInterface(base)
    a = host_array(obj, "input")
    assert _address(a) == _address(base) and a.strides == base.strides
    t = (RNG.integers(0, 2, size=base.shape)).astype(np.float64)
    assert monai.DiceLoss(sigmoid=True)(obj, t) == monai.DiceLoss(sigmoid=True)(base, t)


class _DeviceTensor:
    """A DLPack producer on a CUDA device (type 2)."""

    device = "cuda:0"

    def __dlpack__(self, **kwargs):
        raise AssertionError("must not be exported")

    def __dlpack_device__(self):
        return (2, 0)


def test_device_tensor_raises_naming_cpu():
    with pytest.raises(dice.DeviceError, match=r"cuda:0.*\.cpu\(\)"):
        monai.DiceLoss()(_DeviceTensor(), np.zeros((1, 2, 3, 3)))
    with pytest.raises(dice.DeviceError, match=r"meta.*\.cpu\(\)"):
        dice.dice_loss(torch.empty(1, 2, 3, 3, device="meta"), np.zeros((1, 2, 3, 3)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_tensor_raises_naming_cpu():
    with pytest.raises(dice.DeviceError, match=r"\.cpu\(\)"):
        monai.DiceLoss()(torch.zeros(1, 2, 3, 3, device="cuda"), np.zeros((1, 2, 3, 3)))
