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

Data-parallel training (torch.distributed): every module takes `process_group=` (None, the
default: local; `dice.torch.WORLD` for the default group, or a ProcessGroup). Each rank then
reduces its own items to statistics, the statistics of all ranks are combined with one
`all_reduce` (SUM, float64), and finalize and backward run on the global statistics: the loss
on every rank is the loss of the whole (concatenated) batch, and the gradient each rank returns
is world_size x d(global loss)/d(its own input), so that after DistributedDataParallel averages
the parameter gradients they equal one process's gradients on the whole batch. See
docs/distributed.md for the contract, per reduction.
"""

try:
    import torch
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "dice.torch needs PyTorch (pip install torch); the numpy API (dice, dice.compat) works without it"
    ) from e

import numpy as np
from torch.autograd.function import once_differentiable

from ._errors import DtypeError
from ._tensor import host_array
from . import losses
from .compat import monai as _monai

_FLOATS = (torch.float32, torch.float64)


def _host_view(t, name):
    """A numpy view of a CPU tensor's memory (same storage and strides); DeviceError off the CPU."""
    if not isinstance(t, torch.Tensor):
        return t  # numpy arrays and array-likes go to the library's own checks
    if name == "input" and t.dtype not in _FLOATS:
        raise DtypeError(f"input.dtype = {t.dtype} is not supported (torch.float32 or torch.float64)")
    return host_array(t, name)


class _World:
    """The default process group (torch.distributed's group.WORLD), as `process_group=WORLD`."""

    def __repr__(self):
        return "dice.torch.WORLD"


WORLD = _World()


def _dist_group(process_group):
    """(torch.distributed, group argument, world size, rank) for a process_group argument."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(
            f"process_group={process_group!r} needs torch.distributed initialised "
            "(torch.distributed.init_process_group) before the loss is called"
        )
    group = None if process_group is WORLD else process_group
    return dist, group, dist.get_world_size(group), dist.get_rank(group)


def _library_args(impl, x, y):
    """(input, target, library options, factor) of one loss call in the global path: the options
    and target the compat class hands the library for this input, and a factor MONAI applies
    after it (FocalLoss' scalar weight). Raises NotImplementedError where the compat class
    computes the loss from several library calls that do not combine across ranks."""
    kw = impl.spec(x)
    factor = 1.0
    if isinstance(impl, _monai.FocalLoss):
        alpha = impl.kwargs.get("focal_alpha")
        if alpha is not None and (np.min(alpha) < 0.0 or np.max(alpha) > 1.0):
            raise NotImplementedError("FocalLoss with alpha outside [0, 1] and process_group: not supported")
        if impl.kwargs.get("ignore_index") is not None:
            raise NotImplementedError("FocalLoss with ignore_index and process_group: not supported")
        w = impl.kwargs.get("pointwise_weight")
        if w is not None and w.ndim == 0:
            factor = float(w)
        if x.ndim == 2:  # a (B, C) input is one voxel per item
            x, y = x[..., None], (y[..., None] if np.ndim(y) == 2 else y)
    y, kw = _monai._monai_ignore(kw, x, y, impl.to_onehot_y)
    if (
        kw.get("gamma_on_mean")
        or kw.get("classes") is not None
        or kw.get("weight_mode", "after_ratio") != "after_ratio"
    ):
        raise NotImplementedError("process_group with gamma_on_mean, classes or a weighted-mean mode: not supported")
    return x, y, kw, factor


def _exchange(process_group, x, y, impl):
    """Step 1 on this rank and the all-reduce. Returns a dict describing the global stats.

    Two all_reduce calls (SUM, float64): the first carries each rank's row count, kept classes,
    a flag for non-finite inputs and an error flag, each in its own slot; the second the stats,
    each rank's rows written at that rank's offset in a zero buffer of all ranks' rows. Every
    slot thus receives one rank's value plus zeros, which is exact in any summation order: the
    global stats are bit-identical to those of the concatenated batch in one process (the
    library reduces every item on its own)."""
    dist, group, world, rank = _dist_group(process_group)
    failure = None
    try:
        x, y, kw, factor = _library_args(impl, x, y)
        flat, layout = losses.stats(x, y, to_onehot_y=impl.to_onehot_y, **kw)
        meta = (layout.rows, layout.classes, float(not np.isfinite(x).all()), 0.0)
    except Exception as e:  # noqa: BLE001 - re-raised below, after the other ranks know
        failure, meta = e, (0, 0, 0.0, 1.0)
    head = torch.zeros(4 * world, dtype=torch.float64)
    for i, v in enumerate(meta):
        head[i * world + rank] = v
    dist.all_reduce(head, op=dist.ReduceOp.SUM, group=group)
    rows, classes, nonfinite, failed = head.view(4, world).numpy()
    if failure is not None:
        raise failure
    if failed.any():
        raise RuntimeError(
            f"{type(impl).__name__}: the loss failed on rank(s) {np.flatnonzero(failed).tolist()} "
            "of the process group (their exception names the cause)"
        )
    if not (classes == classes[0]).all():
        raise RuntimeError(
            f"{type(impl).__name__}: the ranks keep different numbers of classes "
            f"{classes.astype(int).tolist()}: every rank needs the same channels and options"
        )
    counts = rows.astype(np.int64)
    offset, total = int(counts[:rank].sum()), int(counts.sum())
    glayout = layout.with_rows(total)
    buf = torch.zeros(glayout.size, dtype=torch.float64)
    gt, gr = glayout.split(buf.numpy())
    lt, lr = layout.split(flat)
    gt[offset : offset + layout.rows] = lt
    if lr is not None:
        gr[offset : offset + layout.rows] = lr
    dist.all_reduce(buf, op=dist.ReduceOp.SUM, group=group)
    return dict(
        x=x,
        y=y,
        kw=kw,
        factor=factor,
        flat=buf.numpy(),
        layout=glayout,
        offset=offset,
        rows=layout.rows,
        world=world,
        nonfinite=bool(nonfinite.any()),
    )


def _global_backward(impl, g, upstream):
    """d(upstream . loss)/d(this rank's input) from the global stats, times the world size."""
    x, y, kw, layout, world = g["x"], g["y"], g["kw"], g["layout"], g["world"]
    red, batch = kw.get("reduction", "mean"), kw.get("batch", False)
    pointwise = kw.get("pointwise", "none") != "none"
    focal_sum = red == "sum" and kw.get("pointwise") in ("sigmoid_focal", "softmax_focal")
    up = np.asarray(upstream, dtype=np.float64).reshape(-1) * (world * g["factor"])
    call = dict(to_onehot_y=impl.to_onehot_y)
    pooled = layout.pooled(g["flat"])
    if not pointwise or (batch and not focal_sum):
        parts = [(kw, None)]  # one pass: overlap (and elementwise term) from one set of stats
    else:
        parts = []
        if kw.get("lambda_overlap", 1.0) != 0.0:
            parts.append((dict(kw, pointwise_lambda=0.0), None))
        if kw.get("pointwise_lambda", 1.0) != 0.0:
            parts.append((dict(kw, lambda_overlap=0.0), "pointwise"))
    grad = None
    for opts, role in parts:
        if role == "pointwise" or batch:
            # pooled global stats (one row) apply to every item; the elementwise term's mean
            # divides by the global weight. Its focal "sum" is rows / voxels times the sum:
            # one pooled row gives 1 / voxels, so the global row count goes into the upstream.
            stats, u = pooled, up * (layout.rows if (role == "pointwise" and focal_sum) else 1.0)
        else:
            # per-item entries: this rank's rows; a mean divides by the global entry count
            stats = layout.take_rows(g["flat"], g["offset"], g["offset"] + g["rows"])
            u = up
            if red == "mean":
                per_row = 1 if opts.get("overlap") == "generalized" or opts.get("pool_classes") else layout.classes
                opts = dict(opts, reduction="sum")
                u = up * (1.0 / (layout.rows * per_row))
        part = losses.backward_from_stats(
            x,
            y,
            stats,
            layout.with_rows(1) if stats is pooled else layout.with_rows(g["rows"]),
            upstream=u,
            **call,
            **opts,
        )
        grad = part if grad is None else np.add(grad, part, out=grad)
    if grad is None:  # both lambdas 0
        grad = np.zeros_like(x)
    if isinstance(impl, _monai.FocalLoss) and g["nonfinite"]:
        nan = impl._infinite_logit_nans(x, y)
        if nan is not None:
            grad[:, -nan.shape[1] :][nan] = np.nan
    return grad.reshape(g["input_shape"])  # a (B, C) FocalLoss input was read as (B, C, 1)


class _GlobalLoss(torch.autograd.Function):
    """forward(input, target, impl, process_group): the loss of the whole batch of every rank
    of the group (see the module docstring); backward: world_size x its gradient with respect to
    this rank's input."""

    @staticmethod
    def forward(ctx, input, target, impl, process_group):
        x = _host_view(input, "input")
        y = _host_view(target, "target")
        red = impl.kwargs.get("reduction", "mean")
        if red == "none" and impl.kwargs.get("pointwise", "none") != "none":
            # per-element outputs: a (non-batch) value depends on this rank's items only
            if impl.kwargs.get("batch"):
                raise NotImplementedError(
                    f"{type(impl).__name__}(batch=True, reduction='none') with process_group: "
                    "not supported (use reduction 'mean' or 'sum')"
                )
            _, world, _ = _dist_group(process_group)[1:]
            value, _ = impl.compute(x, y)
            ctx.impl, ctx.g, ctx.world = impl, None, world
        else:
            g = _exchange(process_group, x, y, impl)
            g["input_shape"] = tuple(x.shape)
            loss, values = losses.finalize(g["flat"], g["layout"], **g["kw"])
            if red == "none":
                if not g["kw"].get("batch"):
                    values = values[g["offset"] : g["offset"] + g["rows"]]
                value = impl.none_shape(values, g["x"]) * g["factor"]
            else:
                value = np.float64(
                    np.nan if isinstance(impl, _monai.FocalLoss) and g["nonfinite"] else loss * g["factor"]
                )
            ctx.impl, ctx.g = impl, g
        target_is_tensor = isinstance(target, torch.Tensor)
        ctx.save_for_backward(input, target if target_is_tensor else None)
        ctx.target = None if target_is_tensor else target
        return torch.as_tensor(np.asarray(value), dtype=input.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        upstream = grad_output.detach().to("cpu", torch.float64).contiguous().numpy().reshape(-1)
        input, target = ctx.saved_tensors  # also autograd's check that they were not modified in place
        if ctx.g is None:
            target = ctx.target if target is None else target
            _, grad = ctx.impl.compute(
                _host_view(input, "input"), _host_view(target, "target"), return_grad=True, upstream=upstream
            )
            grad *= grad.dtype.type(ctx.world)
        else:
            grad = _global_backward(ctx.impl, ctx.g, upstream)
        return torch.from_numpy(grad), None, None, None


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
        _, grad = ctx.impl.compute(
            _host_view(input, "input"), _host_view(target, "target"), return_grad=True, upstream=upstream
        )
        return torch.from_numpy(grad), None, None


class _Loss(torch.nn.Module):
    """An nn.Module running the dice.compat.monai class `impl_class` through autograd."""

    impl_class = None

    def __init__(self, *args, process_group=None, **kwargs):
        super().__init__()
        self.impl = self.impl_class(*args, **kwargs)
        self.process_group = process_group

    def _apply(self, input, target, impl):
        if self.process_group is None:
            return _LibraryLoss.apply(input, target, impl)
        return _GlobalLoss.apply(input, target, impl, self.process_group)

    def forward(self, input, target):
        if isinstance(target, torch.Tensor) and target.requires_grad and torch.is_grad_enabled():
            raise NotImplementedError(
                f"target requires grad: {type(self).__name__} computes no gradient with respect to the "
                "target (only the input); pass target.detach() to treat it as a constant"
            )
        if self.impl.other_act is None:
            return self._apply(input, target, self.impl)
        # other_act runs in torch (autograd chains it); the library then runs without an activation
        activated = self.impl.other_act(input)
        parts = [self._apply(activated if act else input, target, part) for part, act in self.impl.split()]
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
