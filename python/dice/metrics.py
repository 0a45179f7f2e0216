"""Segmentation metrics over the library: exact confusion counts, overlap metrics, MONAI's
reductions, torchmetrics' Generalized Dice score, distance transforms and surface metrics.
numpy in, numpy out; the compat layers build the originals' classes on these.

Decisions (what counts as predicted / true) come from one of:
- "masks": binary or one-hot (N, C, spatial...) of any integer dtype or bool, nonzero = member
  (floats holding only 0 and 1 are accepted); bool/uint8 are read in place, other dtypes
  narrowed in one pass (dice._masks);
- "labels": class indices (N, 1, spatial...) or (N, spatial...) of any integer dtype, or floats
  holding integers (needs num_classes when both sides are labels);
- "argmax": float scores (N, C, spatial...), the first maximal channel wins;
- "threshold": float scores, member where value >= threshold.
"""

import ctypes

import numpy as np

from . import _lib
from ._errors import (
    MAX_CLASSES,
    UINT64,
    DtypeError,
    LengthError,
    LimitError,
    NdimError,
    NullPointerError,
    OptionError,
    c_int,
)
from ._masks import as_labels, as_mask
from ._tensor import Tensor, doubles

_U64 = ctypes.POINTER(ctypes.c_uint64)
_F64 = ctypes.POINTER(ctypes.c_double)


def _ptr(a, kind=_F64):
    return a.ctypes.data_as(kind)


def _num_classes(num_classes):
    """num_classes as an int in [0, DICE_MAX_CLASSES] (0: taken from the arrays)."""
    return c_int("num_classes", num_classes, 0, MAX_CLASSES)


def _batched(decisions, name):
    """The array of `decisions`, which must have an item axis and a class (or spatial) axis."""
    if decisions.array.ndim < 2:
        raise NdimError(
            f"{name}.ndim = {decisions.array.ndim}: expected (N, C, spatial...) masks or (N, [1,] spatial...) labels"
        )
    return decisions.array


class Decisions:
    """A DiceDecisions for `array` read as `kind`; keeps the tensor alive."""

    def __init__(self, array, name, kind=None, threshold=0.5):
        if array is None:
            raise NullPointerError(f"{name} is None")
        a = array if isinstance(array, np.ndarray) else np.asarray(array)
        if kind is None:
            kind = "masks" if a.dtype.kind == "f" or a.dtype in (np.bool_, np.uint8) else "labels"
        if kind == "masks":
            a = as_mask(a, name)
        elif kind == "labels":
            a = as_labels(a, name)
        if kind not in _lib.DECISIONS:
            raise OptionError(f"{name} kind = {kind!r} is not one of {sorted(_lib.DECISIONS)}")
        self.tensor = Tensor(a, name)
        self.struct = _lib.DiceDecisions(ctypes.pointer(self.tensor.struct), _lib.DECISIONS[kind], float(threshold))
        self.array = a

    @property
    def ref(self):
        return ctypes.byref(self.struct)


def confusion(y_pred, y, *, num_classes=0, pred_kind=None, gt_kind=None, threshold=0.5):
    """Exact (tp, fp, fn, tn) per (item, class): uint64 array (N, C, 4)."""
    num_classes = _num_classes(num_classes)
    p = Decisions(y_pred, "y_pred", pred_kind, threshold)
    g = Decisions(y, "y", gt_kind, threshold)
    shape_src = p.array if p.array.ndim >= 2 and p.struct.kind != 0 else g.array
    n = shape_src.shape[0] if shape_src.ndim else 0
    c = num_classes or (shape_src.shape[1] if shape_src.ndim >= 2 else 0)
    out = np.zeros((n, c, 4), dtype=np.uint64)
    ctx = _lib.context()
    _lib.check(_lib.lib.dice_confusion(_lib.context_ptr(ctx), p.ref, g.ref, num_classes, _ptr(out, _U64), out.size))
    return out


def _counts_arg(counts):
    """Confusion counts (items, classes, 4) as contiguous uint64: integers, or floats holding
    integers, each in [0, 2**64); anything else raises naming `counts` (never cast silently)."""
    if counts is None:
        raise NullPointerError("counts is None")
    a = np.asarray(counts)
    if a.ndim != 3 or a.shape[2] != 4:
        raise OptionError(f"counts.shape = {a.shape} must be (items, classes, 4)")
    if a.dtype.kind not in "biuf":
        raise DtypeError(f"counts.dtype = {a.dtype} must be an integer (or integral float) type")
    if a.size and a.dtype.kind == "f":
        if not np.isfinite(a).all() or (a != np.floor(a)).any():
            raise DtypeError(
                "counts holds a value that is not a whole number: "
                f"{a[~np.isfinite(a) | (a != np.floor(a))].reshape(-1)[0]!r}"
            )
    if a.size and a.dtype.kind != "b":
        lo, hi = a.min(), a.max()
        if lo < 0 or (a.dtype.kind == "f" and hi >= 2.0**64):
            bad = lo if lo < 0 else hi
            raise LimitError(f"counts holds {bad!r}, outside [{UINT64[0]}, {UINT64[1]}]")
    return np.ascontiguousarray(a, dtype=np.uint64)


def _kept(classes, include_background):
    return classes - 1 if not include_background and classes > 1 else classes


def overlap_metric(counts, metric="dice", *, include_background=True, empty_gt="nan", beta=1.0):
    """One metric per (item, kept class) from confusion counts: float64 (N, C_kept).

    metric: dice, iou, precision, recall, specificity, npv, accuracy, fbeta, volume_similarity,
    mcc. empty_gt: "nan" (MONAI ignore_empty=True), "one_if_both_empty" (ignore_empty=False),
    "zero"."""
    c = _counts_arg(counts)
    if metric not in _lib.METRIC:
        raise OptionError(f"metric = {metric!r} is not one of {sorted(_lib.METRIC)}")
    if empty_gt not in _lib.EMPTY_GT:
        raise OptionError(f"empty_gt = {empty_gt!r} is not one of {sorted(_lib.EMPTY_GT)}")
    out = np.empty((c.shape[0], _kept(c.shape[1], include_background)), dtype=np.float64)
    _lib.check(
        _lib.lib.dice_overlap_values(
            _ptr(c, _U64),
            c.shape[0],
            c.shape[1],
            _lib.METRIC[metric],
            float(beta),
            _lib.EMPTY_GT[empty_gt],
            int(bool(include_background)),
            _ptr(out),
            out.size,
        )
    )
    return out


def reduce_metric(values, reduction="mean"):
    """MONAI's do_metric_reduction of an (N, C) table (NaN entries skipped): (value, not_nans).

    Shapes: none (N, C); mean and sum (1,); mean_batch and sum_batch (C,); mean_channel and
    sum_channel (N,)."""
    v = np.ascontiguousarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise OptionError(f"values.shape = {v.shape} must be (items, classes)")
    if reduction not in _lib.METRIC_REDUCTION:
        raise OptionError(f"reduction = {reduction!r} is not one of {sorted(_lib.METRIC_REDUCTION)}")
    n, c = v.shape
    size = {"none": n * c, "mean": 1, "sum": 1, "mean_batch": c, "sum_batch": c}.get(reduction, n)
    out = np.empty(size, dtype=np.float64)
    not_nans = np.empty(size, dtype=np.float64)
    _lib.check(
        _lib.lib.dice_metric_reduce(_ptr(v), n, c, _lib.METRIC_REDUCTION[reduction], _ptr(out), _ptr(not_nans), size)
    )
    if reduction == "none":
        return out.reshape(n, c), not_nans.reshape(n, c)
    return out, not_nans


_GDS_WEIGHT = {"square": 0, "simple": 1, "linear": 2}


def generalized_dice_score(counts, *, include_background=True, weight_type="square", per_class=False):
    """torchmetrics' GeneralizedDiceScore of one batch from counts: a float, or (C_kept,) per class."""
    c = _counts_arg(counts)
    if weight_type not in _GDS_WEIGHT:
        raise OptionError(f"weight_type = {weight_type!r} is not one of {sorted(_GDS_WEIGHT)}")
    out = np.empty(_kept(c.shape[1], include_background) if per_class else 1, dtype=np.float64)
    _lib.check(
        _lib.lib.dice_generalized_dice_score(
            _ptr(c, _U64),
            c.shape[0],
            c.shape[1],
            int(bool(include_background)),
            _GDS_WEIGHT[weight_type],
            int(bool(per_class)),
            _ptr(out),
            out.size,
        )
    )
    return out if per_class else float(out[0])


def _spacing(spacing, ndim):
    """Spacing per spatial axis (None = 1; a scalar = the same on every axis)."""
    if spacing is None:
        return None
    s = np.asarray(spacing, dtype=np.float64).reshape(-1)
    return np.full(ndim, float(s[0])) if s.size == 1 else s


def distance_transform(mask, *, spacing=None, metric="euclidean", signed=False):
    """Distance from every voxel to the nearest nonzero voxel of `mask` (a mask, 1..4-D),
    +inf when there is none; with signed=True (euclidean) the signed distance map (negative
    inside). scipy.ndimage.distance_transform_edt(x) is distance_transform(x == 0)."""
    m = Tensor(as_mask(mask, "mask"), "mask")
    sp, spptr, splen = doubles(_spacing(spacing, m.array.ndim))
    if metric not in _lib.DISTANCE_METRIC:
        raise OptionError(f"metric = {metric!r} is not one of {sorted(_lib.DISTANCE_METRIC)}")
    out = np.empty(m.array.shape, dtype=np.float64)
    ctx = _lib.context()
    _lib.check(
        _lib.lib.dice_distance_transform(
            _lib.context_ptr(ctx),
            m.ref,
            spptr,
            splen,
            _lib.DISTANCE_METRIC[metric],
            int(bool(signed)),
            _ptr(out),
            out.size,
        )
    )
    return out


_PER = {"medpy": 4, "boundary_f": 3}


def surface_metric(
    y_pred,
    y,
    kind,
    *,
    num_classes=0,
    include_background=False,
    distance_metric="euclidean",
    percentile=None,
    directed=False,
    symmetric=False,
    spacing=None,
    class_thresholds=None,
    tolerance=None,
    pred_kind=None,
    gt_kind=None,
):
    """A surface metric per (item, kept class): float64 (N, C_kept) or (N, C_kept, k).

    kind: "hausdorff" (MONAI HausdorffDistanceMetric; percentile None = the maximum, directed),
    "average_distance" (MONAI SurfaceDistanceMetric; symmetric), "surface_dice" (MONAI
    SurfaceDiceMetric; class_thresholds per kept class), "surface_dice_subvoxels" (the same with
    use_subvoxels=True: surfel areas within the tolerance over all surfel areas; 2-D or 3-D,
    euclidean), "medpy" (k = 4: hd, hd95, asd, assd), "boundary_f" (k = 3: precision, recall, F1
    at `tolerance`)."""
    if kind not in _lib.SURFACE:
        raise OptionError(f"kind = {kind!r} is not one of {sorted(_lib.SURFACE)}")
    if distance_metric not in _lib.DISTANCE_METRIC:
        raise OptionError(f"distance_metric = {distance_metric!r} is not one of {sorted(_lib.DISTANCE_METRIC)}")
    num_classes = _num_classes(num_classes)
    p = Decisions(y_pred, "y_pred", pred_kind)
    g = Decisions(y, "y", gt_kind)
    ref = _batched(p, "y_pred") if p.struct.kind != 0 else _batched(g, "y")
    n = ref.shape[0]
    c = num_classes or ref.shape[1]
    opts = _lib.DiceSurfaceOptions()
    _lib.check(_lib.lib.dice_surface_options_init(ctypes.byref(opts), ctypes.sizeof(opts)))
    opts.distance_metric = _lib.DISTANCE_METRIC[distance_metric]
    opts.include_background = int(bool(include_background))
    opts.directed = int(bool(directed))
    opts.symmetric = int(bool(symmetric))
    if percentile is not None:
        opts.percentile = float(percentile)
    if tolerance is not None:
        opts.tolerance = float(tolerance)
    sp, opts.spacing, opts.spacing_len = doubles(_spacing(spacing, ref.ndim - 2))
    th, opts.class_thresholds, opts.class_thresholds_len = doubles(class_thresholds)
    per = _PER.get(kind, 1)
    out = np.empty((n, _kept(c, include_background), per), dtype=np.float64)
    ctx = _lib.context()
    _lib.check(
        _lib.lib.dice_surface_metric(
            _lib.context_ptr(ctx),
            p.ref,
            g.ref,
            num_classes,
            _lib.SURFACE[kind],
            ctypes.byref(opts),
            _ptr(out),
            out.size,
        )
    )
    del sp, th
    return out if per > 1 else out[..., 0]


def signed_distance_maps(y, *, num_classes=0, spacing=None, kind=None):
    """Signed distance map of every class of `y` (float64, (N, C, spatial...)): outside a class
    the distance to it, inside minus the distance to its outside, 0 for an empty or full class
    (the boundary loss's phi). `y`: one-hot masks or a label map (with num_classes)."""
    num_classes = _num_classes(num_classes)
    g = Decisions(y, "y", kind)
    a = _batched(g, "y")
    n = a.shape[0]
    c = num_classes or a.shape[1]
    spatial = a.shape[2:] if g.struct.kind != 0 or (a.ndim >= 2 and a.shape[1] == 1) else a.shape[1:]
    sp, spptr, splen = doubles(_spacing(spacing, len(spatial)))
    out = np.empty((n, c, *spatial), dtype=np.float64)
    ctx = _lib.context()
    _lib.check(
        _lib.lib.dice_signed_distance_maps(_lib.context_ptr(ctx), g.ref, num_classes, spptr, splen, _ptr(out), out.size)
    )
    return out


def boundary_loss(input, phi, *, sigmoid=False, softmax=False, include_background=True, return_grad=False):
    """Boundary loss (Kervadec et al.): mean over (item, kept class, voxel) of phi * p, p the
    activated float64 input; phi from signed_distance_maps. With return_grad=True, (loss, grad)."""
    if sigmoid and softmax:
        raise OptionError("Incompatible values: sigmoid=True and softmax=True.")
    x = Tensor(input, "input")
    f = Tensor(phi, "phi")
    loss = ctypes.c_double()
    grad, g = None, None
    if return_grad:
        grad = np.empty(x.array.shape, dtype=np.float64)
        g = Tensor(grad, "grad")
    ctx = _lib.context()
    _lib.check(
        _lib.lib.dice_boundary_loss(
            _lib.context_ptr(ctx),
            x.ref,
            f.ref,
            1 if sigmoid else 2 if softmax else 0,
            int(bool(include_background)),
            ctypes.byref(loss),
            g.ref if g is not None else None,
        )
    )
    return (loss.value, grad) if return_grad else loss.value


_DEEPMIND_KEYS = ("distances_gt_to_pred", "surfel_areas_gt", "distances_pred_to_gt", "surfel_areas_pred")
_DEEPMIND_PER = {"average_surface_distance": 2, "robust_hausdorff": 1, "surface_overlap": 2, "surface_dice": 1}


def surface_distances(mask_gt, mask_pred, spacing):
    """DeepMind surface-distance's compute_surface_distances for 2-D or 3-D masks
    (any strides) and one spacing per axis: a dict of float64 arrays "distances_gt_to_pred",
    "distances_pred_to_gt" (sorted ascending; +inf when the other mask is empty) and
    "surfel_areas_gt", "surfel_areas_pred" (areas, 2-D: contour lengths, in the same order)."""
    g = Tensor(as_mask(mask_gt, "mask_gt"), "mask_gt")
    p = Tensor(as_mask(mask_pred, "mask_pred"), "mask_pred")
    sp, spptr, splen = doubles(spacing)
    ctx = _lib.context()
    counts = np.zeros(2, dtype=np.uint64)
    _lib.check(_lib.lib.dice_surfel_counts(_lib.context_ptr(ctx), g.ref, p.ref, spptr, splen, _ptr(counts, _U64), 2))
    n_gt, n_pred = int(counts[0]), int(counts[1])
    sizes = {
        "distances_gt_to_pred": n_gt,
        "surfel_areas_gt": n_gt,
        "distances_pred_to_gt": n_pred,
        "surfel_areas_pred": n_pred,
    }
    out = {k: np.empty(n, dtype=np.float64) for k, n in sizes.items()}
    _lib.check(
        _lib.lib.dice_surface_distances(
            _lib.context_ptr(ctx),
            g.ref,
            p.ref,
            spptr,
            splen,
            _ptr(out["distances_gt_to_pred"]),
            _ptr(out["surfel_areas_gt"]),
            n_gt,
            _ptr(out["distances_pred_to_gt"]),
            _ptr(out["surfel_areas_pred"]),
            n_pred,
        )
    )
    return {k: out[k] for k in ("distances_gt_to_pred", "distances_pred_to_gt", "surfel_areas_gt", "surfel_areas_pred")}


def _float_list(surface_distances, key):
    """surface_distances[key] as a contiguous 1-D float64 array (a missing key raises KeyError)."""
    v = surface_distances[key]
    if v is None:
        raise NullPointerError(f"{key} is None")
    a = np.asarray(v)
    if a.ndim != 1:
        raise OptionError(f"{key}.shape = {a.shape} must be 1-D")
    if a.dtype.kind not in "iuf":
        raise DtypeError(f"{key}.dtype = {a.dtype} must be a real number type")
    return np.ascontiguousarray(a, dtype=np.float64)


def surface_distance_metric(surface_distances, kind, param=0.0):
    """A DeepMind derived metric of a surface_distances() dict: "average_surface_distance" (2
    values), "robust_hausdorff" (param = percent, 1), "surface_overlap" (param = tolerance, 2),
    "surface_dice" (param = tolerance, 1). The lists are checked (sorted, finite areas)."""
    if kind not in _lib.DEEPMIND:
        raise OptionError(f"kind = {kind!r} is not one of {sorted(_lib.DEEPMIND)}")
    a = {k: _float_list(surface_distances, k) for k in _DEEPMIND_KEYS}
    for d, w in (_DEEPMIND_KEYS[:2], _DEEPMIND_KEYS[2:]):
        if a[d].size != a[w].size:
            raise LengthError(f"len({w}) = {a[w].size} differs from len({d}) = {a[d].size}")
    out = np.empty(_DEEPMIND_PER[kind], dtype=np.float64)
    _lib.check(
        _lib.lib.dice_surface_distance_metric(
            _ptr(a["distances_gt_to_pred"]),
            _ptr(a["surfel_areas_gt"]),
            a["distances_gt_to_pred"].size,
            _ptr(a["distances_pred_to_gt"]),
            _ptr(a["surfel_areas_pred"]),
            a["distances_pred_to_gt"].size,
            _lib.DEEPMIND[kind],
            float(param),
            _ptr(out),
            out.size,
        )
    )
    return out
