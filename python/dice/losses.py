"""Functional losses with MONAI's keyword names and defaults, numpy in and numpy out.

Every function takes `input` (N, C, spatial...) float32/float64 logits or probabilities and
`target`: dense of the input's shape (float, or bool/integer holding 0/1), or a label map
(N, 1, spatial...) / (N, spatial...) of any integer dtype or bool (float label maps, MONAI's
convention with `to_onehot_y`, are converted; see prepare_target). Arrays may be any DLPack or
`__array_interface__` object (read in place, see dice._tensor.host_array). It returns the loss
(a float, or per-entry values with reduction="none") and, with `return_grad=True`,
`(loss, grad)` where grad = d(sum of loss)/d(input), in the input's dtype, shape and memory
order.

Reduction "none" gives an array (N, C_kept), or (C_kept,) with batch=True; the compat layers
reshape it to the originals' shapes.
"""

import ctypes

import numpy as np

from . import _lib
from ._errors import INT64, UINT32, UINT64, DtypeError, LabelError, LimitError, OptionError, c_int
from ._tensor import Tensor, doubles, host_array


def _flag(name, v):
    if not isinstance(v, (bool, np.bool_)) and v not in (0, 1):
        raise OptionError(f"{name} = {v!r} must be a bool")
    return int(bool(v))


def dice_options(
    *,
    sigmoid=False,
    softmax=False,
    include_background=True,
    squared_pred=False,
    jaccard=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    reduction="mean",
    ignore_index=None,
    soft_label=False,
):
    """The DiceLossOptions for MONAI DiceLoss keywords; returns (struct, objects to keep alive)."""
    if _flag("sigmoid", sigmoid) and _flag("softmax", softmax):
        raise OptionError("Incompatible values: sigmoid=True and softmax=True.")
    if reduction not in _lib.REDUCTION:
        raise OptionError(f"reduction = {reduction!r} is not one of 'mean', 'sum', 'none'")
    w, wptr, wlen = doubles(weight)
    o = _lib.options(
        activation=_lib.ACTIVATION["sigmoid" if sigmoid else "softmax" if softmax else "none"],
        reduction=_lib.REDUCTION[reduction],
        include_background=_flag("include_background", include_background),
        squared_pred=_flag("squared_pred", squared_pred),
        jaccard=_flag("jaccard", jaccard),
        batch=_flag("batch", batch),
        smooth_nr=float(smooth_nr),
        smooth_dr=float(smooth_dr),
        soft_label=_flag("soft_label", soft_label),
    )
    if wptr is not None:
        o.weight, o.weight_len = wptr, wlen
    if ignore_index is not None:
        o.ignore_index, o.has_ignore_index = c_int("ignore_index", ignore_index, *INT64), 1
    return o, w


# The loss family beyond MONAI's DiceLoss, in the engine's terms (dice-core DiceOptions), with
# their defaults. family_options() sets them on the library's DiceLossOptions.
FAMILY_DEFAULTS = dict(
    overlap="dice",  # "dice" | "tversky" | "generalized"
    alpha=0.5,
    beta=0.5,  # Tversky false-positive / false-negative weights
    gdl_weight="square",  # Generalised Dice class weights: "square" | "simple" | "uniform"
    clamp_dr=0.0,  # lower bound of the score's denominator (smp eps)
    form="one_minus",  # "one_minus" | "neg_log" | "log_cosh" | "negative"
    log_eps=1e-7,  # clamp of the score in the neg_log form
    gamma=1.0,  # (1 - s)^gamma per entry (focal Tversky)
    gamma_on_mean=False,  # apply gamma to the reduced loss instead (smp TverskyLoss)
    zero_absent=False,  # entries with empty ground truth give 0 but count (smp)
    weight_mode="after_ratio",  # "after_ratio" (MONAI) | "weighted_mean" (smp) | "in_sums" (kornia)
    pool_classes=False,  # one entry per row summed over classes (kornia micro)
    classes=None,  # input channels entering the reduction (smp classes)
    lambda_overlap=1.0,  # weight of the overlap term (MONAI lambda_dice)
    pointwise="none",  # "none" | "softmax_ce" | "bce" | "sigmoid_focal" | "softmax_focal"
    pointwise_lambda=1.0,  # weight of the pointwise term (lambda_ce / lambda_focal)
    pointwise_weight=None,  # CE class weights, BCE pos_weight, focal class weights
    label_smoothing=0.0,  # CE label smoothing
    focal_gamma=2.0,  # focal exponent
    focal_alpha=None,  # focal class balance: None, a scalar or one per kept class
    dense_ignore="all_zero",  # dense-target ignore_index rule: "all_zero" (MONAI) | "equal" (smp)
    frames=False,  # one entry per (n, t, class) of (N, C, T, spatial...) inputs
    temporal=0.0,  # weight of lambda mean((p_t - p_(t-1))^2) over frames of axis 2
)


_ENUMS = dict(
    overlap={"dice": 0, "tversky": 1, "generalized": 2},
    gdl_weight={"square": 0, "simple": 1, "uniform": 2},
    form={"one_minus": 0, "neg_log": 1, "log_cosh": 2, "negative": 3},
    weight_mode={"after_ratio": 0, "weighted_mean": 1, "in_sums": 2},
    pointwise={"none": 0, "softmax_ce": 1, "bce": 2, "sigmoid_focal": 3, "softmax_focal": 4},
    dense_ignore={"all_zero": 0, "equal": 1},
)
# FAMILY_DEFAULTS key -> DiceLossOptions field, for the plain numbers and flags
_FIELDS = dict(
    alpha="tversky_alpha",
    beta="tversky_beta",
    clamp_dr="clamp_dr",
    log_eps="form_eps",
    gamma="gamma",
    gamma_on_mean="gamma_on_mean",
    zero_absent="zero_absent",
    pool_classes="pool_classes",
    lambda_overlap="lambda_overlap",
    pointwise_lambda="pw_lambda",
    label_smoothing="label_smoothing",
    focal_gamma="focal_gamma",
    frames="frames",
    temporal="temporal",
)


def _set_family_fields(o, fields):
    """Writes the non-default family fields onto the options struct; returns the arrays it points
    to (keep them alive for the call). A library without the loss family cannot compute these
    losses: NotImplementedError names what is missing."""
    if fields and not _lib.FAMILY:
        raise NotImplementedError(
            f"the loaded libdice ({_lib.path}, {_lib.version}) has no loss-family options for "
            f"{', '.join(f'{k}={v!r}' for k, v in sorted(fields.items()))}: this loss needs a newer library"
        )
    keep = []
    for k, v in fields.items():
        if k in _ENUMS:
            if v not in _ENUMS[k]:
                raise OptionError(f"{k} = {v!r} is not one of {sorted(_ENUMS[k])}")
            setattr(o, k, _ENUMS[k][v])
        elif k in _FIELDS:
            setattr(o, _FIELDS[k], float(v) if isinstance(getattr(o, _FIELDS[k]), float) else int(bool(v)))
        elif k == "classes":
            c = _uint32s("classes", v)
            keep.append(c)
            o.classes, o.classes_len = c.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)), c.size
        elif k == "pointwise_weight":
            w, o.pw_weight, o.pw_weight_len = doubles(v)
            keep.append(w)
        elif k == "focal_alpha":
            if np.ndim(v) == 0:
                o.focal_alpha, o.focal_alpha_kind = float(v), 1
            else:
                a, o.focal_alpha_values, o.focal_alpha_len = doubles(v)
                o.focal_alpha_kind = 2
                keep.append(a)
    return keep


def _uint32s(name, values):
    """A contiguous uint32 copy of integer `values`, each checked to fit (never wrapped)."""
    a = np.asarray(values).reshape(-1)
    if a.size and a.dtype.kind not in "iu":
        raise DtypeError(f"{name} = {values!r} must hold integers")
    if a.size and (int(a.min()) < UINT32[0] or int(a.max()) > UINT32[1]):
        raise LimitError(f"{name} = {values!r} holds a value outside [{UINT32[0]}, {UINT32[1]}]")
    return np.ascontiguousarray(a, dtype=np.uint32)


def family_options(**options):
    """DiceLossOptions for dice_options' keywords plus FAMILY_DEFAULTS' keys."""
    unknown = set(options) - set(FAMILY_DEFAULTS) - set(_DICE_KEYS)
    if unknown:
        raise TypeError(f"unknown loss options {sorted(unknown)}")
    o, keep = dice_options(**{k: v for k, v in options.items() if k in _DICE_KEYS})
    changed = {k: v for k, v in options.items() if k in FAMILY_DEFAULTS and not _is_default(v, FAMILY_DEFAULTS[k])}
    return o, (keep, _set_family_fields(o, changed))


def _is_default(value, default):
    if default is None or value is None:
        return value is default
    return np.array_equal(np.asarray(value), np.asarray(default))


# integer target dtypes the library does not read -> the one it reads that holds all their values
_WIDER_LABELS = {
    np.dtype(np.int8): np.int32,
    np.dtype(np.int16): np.int32,
    np.dtype(np.uint32): np.int64,
    np.dtype(np.uint64): np.int64,
}


def float_labels(t):
    """A float label map as int64 (one pass); LabelError names a non-integral value."""
    with np.errstate(invalid="ignore"):  # NaN/inf cast to garbage, caught by the comparison
        labels = t.astype(np.int64)
    if not np.array_equal(labels, t):
        bad = float(t[labels != t].reshape(-1)[0])
        raise LabelError(f"target holds the non-integral label {bad!r} (a label map holds class indices)")
    return labels


def prepare_target(input, target, to_onehot_y):
    """The target array the library reads: zero-copy when it already reads the dtype, else one
    conversion (never a chain of temporaries):

    - float label map with to_onehot_y (C > 1): checked integral, converted to int64;
    - integer/bool target of the input's shape without to_onehot_y (C > 1): a one-hot
      encoding, cast to the input's dtype (MONAI reads it as dense);
    - dense float target of another float dtype: cast to the input's dtype;
    - int8/int16 labels widened to int32, uint32/uint64 to int64 (uint64 values above the int64
      range raise LabelError);
    - anything else is passed as is (the library validates it).
    With a single channel, to_onehot_y is ignored (as in MONAI).
    """
    if target is None or input is None:
        return target
    t = host_array(target, "target")
    channels = input.shape[1] if input.ndim >= 2 else 0
    if t.dtype.kind == "f":
        if to_onehot_y and channels > 1:
            return float_labels(t)
        if input.dtype.kind == "f" and t.dtype != input.dtype:
            return t.astype(input.dtype)
        return t
    if t.dtype.kind in "iub" and not to_onehot_y and channels > 1 and t.shape == input.shape:
        return t.astype(input.dtype if input.dtype.kind == "f" else np.float64)
    wider = _WIDER_LABELS.get(t.dtype)
    if wider is None:
        return t
    if t.dtype == np.uint64 and t.size and t.max() > np.iinfo(np.int64).max:
        raise LabelError(f"target holds the label {int(t.max())}, beyond any class index")
    return t.astype(wider)


_DICE_KEYS = (
    "sigmoid",
    "softmax",
    "include_background",
    "squared_pred",
    "jaccard",
    "smooth_nr",
    "smooth_dr",
    "batch",
    "weight",
    "reduction",
    "ignore_index",
    "soft_label",
)


def _as_input(input):
    return host_array(input, "input")


def _shape(inp, opts):
    rows, classes = ctypes.c_size_t(), ctypes.c_size_t()
    _lib.check(_lib.lib.dice_loss_shape(inp.ref, ctypes.byref(opts), ctypes.byref(rows), ctypes.byref(classes)))
    return rows.value, classes.value


def _loss_mask(opts, inp, loss_mask):
    """Points opts.loss_mask at a DiceTensor of the mask (None: no mask); returns what must stay
    alive for the call. Zero-copy when the mask has the input's dtype; bool/integer/other float
    masks are converted to it (the library reads the input's float type)."""
    if loss_mask is None:
        return None
    m = host_array(loss_mask, "loss_mask")
    if inp.array.dtype.kind == "f" and m.dtype != inp.array.dtype:
        m = m.astype(inp.array.dtype)
    t = Tensor(m, "loss_mask")
    opts.loss_mask = ctypes.pointer(t.struct)
    return t


def run(input, target, opts, *, to_onehot_y=False, return_grad=False, upstream=None, loss_mask=None):
    """One dice_loss / dice_loss_grad call. Returns (loss, values (rows, classes), grad or None).

    `upstream` scales the gradient: a scalar (mean/sum) or one value per entry (none).
    `loss_mask`: nnU-Net's per-voxel weights (N, 1, spatial...) or (N, spatial...)."""
    input = _as_input(input)
    inp = Tensor(input, "input")
    mask = _loss_mask(opts, inp, loss_mask)  # noqa: F841 (kept alive for the call)
    tgt = Tensor(prepare_target(inp.array, target, to_onehot_y), "target")
    rows, classes = _shape(inp, opts)
    values = np.empty((rows, classes), dtype=np.float64)
    vptr = values.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    loss = ctypes.c_double()
    ctx = _lib.context()  # held for the whole call
    if not return_grad:
        _lib.check(
            _lib.lib.dice_loss(
                _lib.context_ptr(ctx), inp.ref, tgt.ref, ctypes.byref(opts), ctypes.byref(loss), vptr, values.size
            )
        )
        return loss.value, values, None
    grad = np.empty_like(inp.array, order="K")
    g = Tensor(grad, "grad")
    up, upptr, uplen = doubles(upstream)
    _lib.check(
        _lib.lib.dice_loss_grad(
            _lib.context_ptr(ctx),
            inp.ref,
            tgt.ref,
            ctypes.byref(opts),
            upptr,
            uplen,
            g.ref,
            ctypes.byref(loss),
            vptr,
            values.size,
        )
    )
    return loss.value, values, grad


def run_map(input, target, opts, *, to_onehot_y=False, loss_mask=None):
    """One dice_pointwise_map call: the elementwise term per element, an array of the input's
    shape and dtype (each element's BCE / focal loss times its keep weight, 0 on channels the
    term does not cover, before the term's mean and lambda)."""
    input = _as_input(input)
    inp = Tensor(input, "input")
    mask = _loss_mask(opts, inp, loss_mask)  # noqa: F841 (kept alive for the call)
    tgt = Tensor(prepare_target(inp.array, target, to_onehot_y), "target")
    out = np.empty_like(inp.array, order="K")
    o = Tensor(out, "out")
    ctx = _lib.context()
    _lib.check(_lib.lib.dice_pointwise_map(_lib.context_ptr(ctx), inp.ref, tgt.ref, ctypes.byref(opts), o.ref))
    return out


def pointwise_map(input, target, *, to_onehot_y=False, loss_mask=None, **options):
    """The elementwise term (options as for `loss`, e.g. pointwise="sigmoid_focal") per element,
    shaped like the input: the summands of the term's loss before its mean and lambda."""
    opts, keep = family_options(**options)
    out = run_map(input, target, opts, to_onehot_y=to_onehot_y, loss_mask=loss_mask)
    del keep
    return out


def _result(loss, values, grad, reduction, batch, return_grad):
    out = (values[0] if batch else values) if reduction == "none" else loss
    return (out, grad) if return_grad else out


def dice_loss(
    input,
    target,
    *,
    include_background=True,
    to_onehot_y=False,
    sigmoid=False,
    softmax=False,
    squared_pred=False,
    jaccard=False,
    reduction="mean",
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    soft_label=False,
    ignore_index=None,
    return_grad=False,
    loss_mask=None,
):
    """Soft Dice (or Jaccard) loss, MONAI DiceLoss semantics:

        loss(n, c) = weight_c * (1 - (2 I + smooth_nr) / (P + G + smooth_dr))

    with I = sum(p t), P = sum(p), G = sum(t) over space (and the batch with batch=True), p the
    activated input; squared_pred squares p and t in P and G; jaccard uses 2(P + G - I) in the
    denominator. Returns a float (mean/sum) or an array (N, C_kept) / (C_kept,) for "none";
    with return_grad=True, (loss, d(sum of loss)/d(input)). `loss_mask` (nnU-Net's, shaped
    (N, 1, spatial...) or (N, spatial...), finite and >= 0) weighs every voxel's terms:
    I = sum m p t, P = sum m p, G = sum m t."""
    opts, keep = dice_options(
        sigmoid=sigmoid,
        softmax=softmax,
        include_background=include_background,
        squared_pred=squared_pred,
        jaccard=jaccard,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        batch=batch,
        weight=weight,
        reduction=reduction,
        ignore_index=ignore_index,
        soft_label=soft_label,
    )
    loss, values, grad = run(input, target, opts, to_onehot_y=to_onehot_y, return_grad=return_grad, loss_mask=loss_mask)
    del keep
    return _result(loss, values, grad, reduction, batch, return_grad)


def dice_stats(input, target, *, to_onehot_y=False, loss_mask=None, **options):
    """Step 1 of the three-step API: the sums (I, P, G) per (item, kept class), shape (N, C_kept, 3).

    Stats of disjoint spatial tiles of the same items add; with batch=True, rows may be summed
    (e.g. across data-parallel workers) before `dice_finalize`. `options` are dice_loss's."""
    opts, keep = dice_options(**options)
    inp = Tensor(_as_input(input), "input")
    mask = _loss_mask(opts, inp, loss_mask)  # noqa: F841 (kept alive for the call)
    tgt = Tensor(prepare_target(inp.array, target, to_onehot_y), "target")
    rows, classes = _shape(inp, opts)
    n = inp.array.shape[0]
    stats = np.empty((n, classes, 3), dtype=np.float64)
    ctx = _lib.context()
    _lib.check(
        _lib.lib.dice_stats(
            _lib.context_ptr(ctx),
            inp.ref,
            tgt.ref,
            ctypes.byref(opts),
            stats.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            stats.size,
        )
    )
    del keep
    return stats


def _stats_arg(stats):
    s = np.ascontiguousarray(stats, dtype=np.float64)
    if s.ndim != 3 or s.shape[2] != 3:
        raise OptionError(f"stats.shape = {s.shape} must be (rows, classes, 3)")
    return s, s.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


def dice_finalize(stats, **options):
    """Step 2: the loss (as dice_loss returns it) from stats (rows, C_kept, 3)."""
    reduction = options.get("reduction", "mean")
    batch = options.get("batch", False)
    opts, keep = dice_options(**options)
    s, sptr = _stats_arg(stats)
    rows, classes = s.shape[0], s.shape[1]
    values = np.empty((1 if batch else rows, classes), dtype=np.float64)
    loss = ctypes.c_double()
    _lib.check(
        _lib.lib.dice_finalize(
            sptr,
            s.size,
            rows,
            classes,
            ctypes.byref(opts),
            ctypes.byref(loss),
            values.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            values.size,
        )
    )
    del keep
    return _result(loss.value, values, None, reduction, batch, False)


def dice_backward_from_stats(input, target, stats, *, upstream=None, to_onehot_y=False, loss_mask=None, **options):
    """Step 3: d(loss)/d(input) for this input/target (one tile or shard) from (summed) stats.

    stats rows must be the input's N, or 1 (pooled) to apply to every item."""
    opts, keep = dice_options(**options)
    inp = Tensor(_as_input(input), "input")
    mask = _loss_mask(opts, inp, loss_mask)  # noqa: F841 (kept alive for the call)
    tgt = Tensor(prepare_target(inp.array, target, to_onehot_y), "target")
    s, sptr = _stats_arg(stats)
    grad = np.empty_like(inp.array, order="K")
    g = Tensor(grad, "grad")
    up, upptr, uplen = doubles(upstream)
    ctx = _lib.context()
    _lib.check(
        _lib.lib.dice_backward_from_stats(
            _lib.context_ptr(ctx),
            inp.ref,
            tgt.ref,
            ctypes.byref(opts),
            sptr,
            s.size,
            s.shape[0],
            s.shape[1],
            upptr,
            uplen,
            g.ref,
        )
    )
    del keep, up
    return grad


class StatsLayout:
    """The flat layout of dice_stats for one call: `rows` x `classes` triples (I, P, G), then,
    when `row_sums`, one (loss, weight, voxels, temporal, pairs) record per row."""

    __slots__ = ("rows", "classes", "row_sums")

    def __init__(self, rows, classes, row_sums):
        self.rows, self.classes, self.row_sums = int(rows), int(classes), bool(row_sums)

    @property
    def size(self):
        return self.rows * self.classes * 3 + (self.rows * 5 if self.row_sums else 0)

    def with_rows(self, rows):
        return StatsLayout(rows, self.classes, self.row_sums)

    def split(self, flat):
        """(triples (rows, classes, 3), row records (rows, 5) or None): views of `flat`."""
        n = self.rows * self.classes * 3
        triples = flat[:n].reshape(self.rows, self.classes, 3)
        return triples, (flat[n:].reshape(self.rows, 5) if self.row_sums else None)

    def join(self, triples, records):
        return (
            np.concatenate([triples.reshape(-1), records.reshape(-1)])
            if self.row_sums
            else np.ascontiguousarray(triples.reshape(-1))
        )

    def pooled(self, flat):
        """The rows summed into one, in row order (as the library pools `batch` rows), as flat
        stats of one row."""
        triples, records = self.split(flat)
        t = np.zeros((1, self.classes, 3))
        r = np.zeros((1, 5))
        for i in range(self.rows):  # sequential, row by row: the library's order
            t[0] += triples[i]
            if records is not None:
                r[0] += records[i]
        return self.with_rows(1).join(t, r)

    def take_rows(self, flat, start, stop):
        """Rows start..stop as flat stats."""
        triples, records = self.split(flat)
        return self.with_rows(stop - start).join(triples[start:stop], None if records is None else records[start:stop])


def stats(input, target, *, to_onehot_y=False, loss_mask=None, **options):
    """Step 1 for any loss of the family (options as for `loss`): returns (flat, layout), the
    flat float64 stats of dice_stats and their StatsLayout: (I, P, G) per (item, kept class),
    then, for losses with an elementwise or temporal term, five sums per item. Stats of
    disjoint sets of items concatenate (in item order); with batch=True, or for the elementwise
    term, rows may be summed (e.g. across data-parallel workers) before `finalize`."""
    opts, keep = family_options(**options)
    inp = Tensor(_as_input(input), "input")
    mask = _loss_mask(opts, inp, loss_mask)  # noqa: F841 (kept alive for the call)
    tgt = Tensor(prepare_target(inp.array, target, to_onehot_y), "target")
    shape = inp.array.shape
    if inp.array.ndim < 3:
        _shape(inp, opts)  # raises the library's error for the rank
    channels = shape[1]
    kept = channels - (1 if not options.get("include_background", True) and channels > 1 else 0)
    rows = shape[0] * (shape[2] if options.get("frames") and inp.array.ndim > 3 else 1)
    row_sums = options.get("pointwise", "none") != "none" or options.get("temporal", 0.0) != 0.0
    layout = StatsLayout(rows, kept, row_sums)
    flat = np.empty(layout.size, dtype=np.float64)
    ctx = _lib.context()
    _lib.check(
        _lib.lib.dice_stats(
            _lib.context_ptr(ctx),
            inp.ref,
            tgt.ref,
            ctypes.byref(opts),
            flat.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            flat.size,
        )
    )
    del keep
    return flat, layout


def finalize(flat, layout, **options):
    """Step 2 for any loss of the family: (loss, values (rows', values per row)) from flat
    stats of `layout` (possibly summed or concatenated across workers); the loss is `loss`'s
    scalar (its reduction), values the per-entry overlap losses (1 row with batch=True)."""
    opts, keep = family_options(**options)
    s = np.ascontiguousarray(flat, dtype=np.float64)
    batch = options.get("batch", False)
    per_row = options.get("overlap") == "generalized" or options.get("pool_classes", False)
    values = np.empty((1 if batch else layout.rows, 1 if per_row else layout.classes), dtype=np.float64)
    out = ctypes.c_double()
    _lib.check(
        _lib.lib.dice_finalize(
            s.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            s.size,
            layout.rows,
            layout.classes,
            ctypes.byref(opts),
            ctypes.byref(out),
            values.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            values.size,
        )
    )
    del keep
    return out.value, values


def backward_from_stats(
    input, target, flat, layout, *, upstream=None, to_onehot_y=False, loss_mask=None, grad=None, **options
):
    """Step 3 for any loss of the family: d(upstream . loss)/d(input) for this input/target (one
    shard or tile of the items) from flat stats of `layout`, whose rows are the input's items
    or 1 (pooled stats applied to every item). `grad` (optional) is written in place and
    returned; by default a new array of the input's dtype and memory order."""
    opts, keep = family_options(**options)
    inp = Tensor(_as_input(input), "input")
    mask = _loss_mask(opts, inp, loss_mask)  # noqa: F841 (kept alive for the call)
    tgt = Tensor(prepare_target(inp.array, target, to_onehot_y), "target")
    s = np.ascontiguousarray(flat, dtype=np.float64)
    if grad is None:
        grad = np.empty_like(inp.array, order="K")
    g = Tensor(grad, "grad")
    up, upptr, uplen = doubles(upstream)
    ctx = _lib.context()
    _lib.check(
        _lib.lib.dice_backward_from_stats(
            _lib.context_ptr(ctx),
            inp.ref,
            tgt.ref,
            ctypes.byref(opts),
            s.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            s.size,
            layout.rows,
            layout.classes,
            upptr,
            uplen,
            g.ref,
        )
    )
    del keep, up
    return grad


def loss(input, target, *, to_onehot_y=False, return_grad=False, loss_mask=None, **options):
    """Any loss of the library's family by its options (dice_loss' keywords plus FAMILY_DEFAULTS'
    keys), e.g. focal Tversky: loss(x, y, softmax=True, overlap="tversky", alpha=0.3, beta=0.7,
    gamma=0.75); log-cosh Dice: form="log_cosh"; nnU-Net: form="negative", clamp_dr=1e-8.
    Returns the reduced loss, or per-entry values (rows, classes) with reduction="none"; with
    frames=True (per-frame rows of (N, C, T, spatial...) inputs) those are (N, T, classes).
    `loss_mask` as in dice_loss; the elementwise terms weigh each voxel's loss and its mean
    weight by it (the temporal term takes no mask)."""
    opts, keep = family_options(**options)
    value, values, grad = run(
        input, target, opts, to_onehot_y=to_onehot_y, return_grad=return_grad, loss_mask=loss_mask
    )
    del keep
    if options.get("frames") and not options.get("batch"):
        values = values.reshape(np.shape(input)[0], np.shape(input)[2], values.shape[1])
    return _result(value, values, grad, options.get("reduction", "mean"), options.get("batch", False), return_grad)


def ramp(kind, start, end, steps, step):
    """Stateless warm-up weight at `step` (e.g. lambda_dice of a blended loss): "constant" (end),
    "linear" start + (end - start) r or "cosine" start + (end - start) (1 - cos(pi r)) / 2, with
    r = min(step, steps) / steps. Every worker and every resumed run gets the same value."""
    if kind not in _lib.RAMP:
        raise OptionError(f"kind = {kind!r} is not one of {sorted(_lib.RAMP)}")
    out = ctypes.c_double()
    _lib.check(
        _lib.lib.dice_ramp(
            _lib.RAMP[kind],
            float(start),
            float(end),
            c_int("steps", steps, *UINT64),
            c_int("step", step, *UINT64),
            ctypes.byref(out),
        )
    )
    return out.value
