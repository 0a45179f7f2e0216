"""PyTorch modules backed by the dice library: change one import in a MONAI training loop.

    from dice.torch import DiceLoss          # instead of: from monai.losses import DiceLoss
    loss = DiceLoss(softmax=True, to_onehot_y=True)(logits, labels)
    loss.backward()

Each module is an nn.Module over a `torch.autograd.Function` that calls the library on the CPU
tensors' memory (numpy views of the same storage and strides: no copy). With mean/sum reduction
the forward computes the gradient in the same pass and the backward scales it by the incoming
gradient; with reduction="none" the backward calls the library again with one upstream value per
entry. `other_act` is applied in torch before the library call (which then runs without an
activation), so autograd differentiates through it; with DiceCELoss/DiceFocalLoss it feeds the
overlap term only, the CE/focal term reads the raw input (as in MONAI). Only CPU tensors are
accepted (the library runs on the host); double backward is not supported. The library
computes no gradient with respect to the target: a target that requires grad (where autograd
is recording) raises NotImplementedError instead of silently getting none; detach it
(target.detach()) to train on it as a constant.
"""

try:
    import torch
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("dice.torch needs PyTorch (pip install torch); the numpy API (dice, "
                      "dice.compat) works without it") from e

import numpy as np
from torch.autograd.function import once_differentiable

from ._errors import DtypeError
from ._tensor import host_array
from .compat import monai as _monai

_FLOATS = (torch.float32, torch.float64)


def _host_view(t, name):
    """A numpy view of a CPU tensor's memory (same storage and strides); DeviceError off the CPU."""
    if not isinstance(t, torch.Tensor):
        return t  # numpy arrays and array-likes go to the library's own checks
    if name == "input" and t.dtype not in _FLOATS:
        raise DtypeError(f"input.dtype = {t.dtype} is not supported (torch.float32 or torch.float64)")
    return host_array(t, name)


class _LibraryLoss(torch.autograd.Function):
    """forward(input, target, impl) -> impl's value as a tensor of the input's dtype.

    With a scalar value the forward also computes the gradient (one fused library call) and the
    first backward hands that buffer over, scaled in place; any other backward (reduction
    "none", or a second backward with retain_graph) calls the library with the upstream values."""

    @staticmethod
    def forward(ctx, input, target, impl):
        x = _host_view(input, "input")
        y = _host_view(target, "target")
        fused = impl.kwargs["reduction"] != "none" and ctx.needs_input_grad[0]
        value, grad = impl.compute(x, y, return_grad=fused)
        ctx.impl, ctx.grad = impl, grad
        target_is_tensor = isinstance(target, torch.Tensor)
        ctx.save_for_backward(input, target if target_is_tensor else None)
        ctx.target = None if target_is_tensor else target
        return torch.as_tensor(np.asarray(value), dtype=input.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        if ctx.grad is not None:
            grad, ctx.grad = torch.from_numpy(ctx.grad), None  # ownership passes to autograd
            scale = grad_output.item()
            return (grad if scale == 1.0 else grad.mul_(scale)), None, None
        input, target = ctx.saved_tensors
        target = ctx.target if target is None else target
        upstream = grad_output.detach().to("cpu", torch.float64).contiguous().numpy().reshape(-1)
        _, grad = ctx.impl.compute(_host_view(input, "input"), _host_view(target, "target"),
                                   return_grad=True, upstream=upstream)
        return torch.from_numpy(grad), None, None


class _Loss(torch.nn.Module):
    """An nn.Module running the dice.compat.monai class `impl_class` through autograd."""

    impl_class = None

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.impl = self.impl_class(*args, **kwargs)

    def forward(self, input, target):
        if isinstance(target, torch.Tensor) and target.requires_grad and torch.is_grad_enabled():
            raise NotImplementedError(
                f"target requires grad: {type(self).__name__} computes no gradient with respect to the "
                "target (only the input); pass target.detach() to treat it as a constant")
        if self.impl.other_act is None:
            return _LibraryLoss.apply(input, target, self.impl)
        # other_act runs in torch (autograd chains it); the library then runs without an activation
        activated = self.impl.other_act(input)
        parts = [_LibraryLoss.apply(activated if act else input, target, part) for part, act in self.impl.split()]
        return parts[0] if len(parts) == 1 else parts[0] + parts[1]


class DiceLoss(_Loss):
    """monai.losses.DiceLoss (same keywords and defaults); see dice.compat.monai.DiceLoss."""

    impl_class = _monai.DiceLoss


class GeneralizedDiceLoss(_Loss):
    """monai.losses.GeneralizedDiceLoss; see dice.compat.monai.GeneralizedDiceLoss."""

    impl_class = _monai.GeneralizedDiceLoss


class TverskyLoss(_Loss):
    """monai.losses.TverskyLoss; see dice.compat.monai.TverskyLoss."""

    impl_class = _monai.TverskyLoss


class FocalLoss(_Loss):
    """monai.losses.FocalLoss; see dice.compat.monai.FocalLoss."""

    impl_class = _monai.FocalLoss


class DiceCELoss(_Loss):
    """monai.losses.DiceCELoss; see dice.compat.monai.DiceCELoss."""

    impl_class = _monai.DiceCELoss


class DiceFocalLoss(_Loss):
    """monai.losses.DiceFocalLoss; see dice.compat.monai.DiceFocalLoss."""

    impl_class = _monai.DiceFocalLoss
