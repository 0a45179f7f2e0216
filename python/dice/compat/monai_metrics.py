"""MONAI 1.6 segmentation metrics (numpy in, numpy out), re-exported by dice.compat.monai.

Classes: DiceMetric, DiceHelper, MeanIoU, GeneralizedDiceScore, ConfusionMatrixMetric, FBetaScore,
AbsoluteVolumeDifferenceMetric, HausdorffDistanceMetric, SurfaceDistanceMetric, SurfaceDiceMetric.
Functions: compute_dice, compute_iou, compute_generalized_dice, get_confusion_matrix,
compute_confusion_matrix_metric, compute_absolute_volume_difference, compute_hausdorff_distance,
compute_average_surface_distance, compute_surface_dice, do_metric_reduction.

As in MONAI, `m(y_pred=..., y=...)` returns the per-item values of that batch ((B, C_kept), or
(B, C_kept, 4) confusion matrices) and buffers them; `m.aggregate()` reduces every buffered batch
with m.reduction (NaN entries skipped), returning `(value, not_nans)` with get_not_nans=True;
`m.reset()` clears the buffer. y_pred and y are binarised one-hot arrays (B, C, spatial...) of
bool, any integer dtype (nonzero = member) or floats holding only 0 and 1; DiceMetric, MeanIoU
and compute_dice also take (B, 1, spatial...) label maps (integers, or floats holding integers)
on either side. Counts come from the library's exact confusion kernel, distances from its
distance transforms; values are float64.

ignore_index follows MONAI per metric: a label-map y excludes the voxels holding that label; a
one-hot y excludes the voxels of that class (channel index), or, for an index outside the channels,
the voxels where no channel is set. IoU and the confusion matrices instead blank the ignored
channel; GeneralizedDiceScore also drops it; HausdorffDistanceMetric gives it NaN.

per_component=True (DiceMetric, DiceHelper, compute_dice) follows MONAI: binary (B, 2, spatial)
one-hot inputs, 2-D or 3-D, one value per item (B, 1): the mean Dice over the Voronoi regions of
the ground truth's connected components (see _per_component_dice; needs scipy, as MONAI does).

Not implemented (raise NotImplementedError): use_subvoxels with a non-euclidean distance_metric.
"""

import numpy as np

from .. import metrics
from .._errors import MAX_CLASSES, DtypeError, OptionError, ShapeError
from .._masks import as_labels, as_mask

__all__ = [
    "DiceMetric",
    "DiceHelper",
    "MeanIoU",
    "GeneralizedDiceScore",
    "ConfusionMatrixMetric",
    "FBetaScore",
    "AbsoluteVolumeDifferenceMetric",
    "HausdorffDistanceMetric",
    "SurfaceDistanceMetric",
    "SurfaceDiceMetric",
    "compute_dice",
    "compute_iou",
    "compute_generalized_dice",
    "get_confusion_matrix",
    "compute_confusion_matrix_metric",
    "check_confusion_matrix_metric_name",
    "compute_absolute_volume_difference",
    "compute_hausdorff_distance",
    "compute_average_surface_distance",
    "compute_surface_dice",
    "do_metric_reduction",
]


def do_metric_reduction(f, reduction="mean"):
    """monai.metrics.do_metric_reduction of an (B, C, ...) table: (value, not_nans), NaN entries
    skipped. Shapes as MONAI's: for (B, C), mean gives (1,) and (), sum () and (); trailing axes
    are reduced independently (each kept in the result)."""
    data = np.asarray(f, dtype=np.float64)
    reduction = str(getattr(reduction, "value", reduction))
    if data.ndim < 2:
        raise OptionError(f"f.ndim = {data.ndim}: expected (batch, classes, ...) values")
    if data.ndim == 2:
        value, not_nans = metrics.reduce_metric(data, reduction)
        if reduction == "mean":
            not_nans = not_nans.reshape(())
        elif reduction == "sum":
            value, not_nans = value.reshape(()), not_nans.reshape(())
        return value, not_nans
    b, c, rest = data.shape[0], data.shape[1], data.shape[2:]
    flat = data.reshape(b, c, -1)
    parts = [metrics.reduce_metric(np.ascontiguousarray(flat[:, :, k]), reduction) for k in range(flat.shape[2])]
    lead = {"none": (b, c), "mean": (), "sum": (), "mean_batch": (c,), "sum_batch": (c,)}.get(reduction, (b,))
    value = np.stack([p[0] for p in parts], axis=-1).reshape(lead + rest)
    not_nans = np.stack([p[1] for p in parts], axis=-1).reshape(lead + rest)
    return value, not_nans


def _distributed():
    """(torch.distributed, world size, rank) when torch.distributed is initialised with more than
    one rank (MONAI's condition for syncing metric buffers), else None. Without torch: None."""
    try:
        import torch.distributed as dist
    except ImportError:
        return None
    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() <= 1:
        return None
    return dist, dist.get_world_size(), dist.get_rank()


def _gather_rows(local):
    """Every rank's (items, ...) array (or None for an empty buffer) concatenated along axis 0 in
    rank order, on every rank; None when every buffer is empty. Uneven lengths and NaN entries
    travel as they are (all_gather_object: the arrays' bytes, no padding to strip)."""
    dist, world, _ = _distributed()
    parts = [None] * world
    dist.all_gather_object(parts, local)
    parts = [p for p in parts if p is not None]
    return np.concatenate(parts, axis=0) if parts else None


def _allreduce_counts(local, reduction):
    """`reduction` ("sum", "sum_batch" or "mean_batch") of (items, C, 4) confusion matrices of all
    ranks, with not_nans, as do_metric_reduction gives them for the gathered buffer, from one
    all_reduce of per-(class, entry) sums and non-NaN counts. Exact: the matrices hold integer
    counts (or NaN), whose float64 sums are exact in any order below 2**53."""
    import torch

    dist, world, rank = _distributed()
    shape = np.zeros(2 * world)
    if local is not None:
        shape[rank], shape[world + rank] = local.shape[1], local.shape[2]
    t = torch.from_numpy(shape)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    classes, entries = t.numpy().reshape(2, world)
    have = classes > 0
    if not have.any():
        raise ValueError("the metric buffer is empty on every rank: call the metric on a batch first")
    c, k = int(classes[have][0]), int(entries[have][0])
    if not (classes[have] == c).all() or not (entries[have] == k).all():
        raise ValueError(
            f"the ranks buffer matrices of different shapes (classes {classes.astype(int).tolist()}, "
            f"entries {entries.astype(int).tolist()})"
        )
    sums = torch.zeros(2, c, k, dtype=torch.float64)
    if local is not None:
        nan = np.isnan(local)
        sums[0] = torch.from_numpy(np.where(nan, 0.0, local).sum(axis=0))
        sums[1] = torch.from_numpy((~nan).sum(axis=0).astype(np.float64))
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)
    total, count = sums.numpy()
    if reduction == "sum":
        return total.sum(axis=0), count.sum(axis=0)
    if reduction == "sum_batch":
        return total, count
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1.0), 0.0), count


class _Cumulative:
    """MONAI's Cumulative buffer + aggregate, over a per-batch `_compute(y_pred, y, **kwargs)`.

    Under torch.distributed (initialised, more than one rank: MONAI's condition), get_buffer()
    and aggregate() see the buffers of every rank concatenated in rank order (rank 0's items,
    then rank 1's, ...; uneven lengths and NaN entries included), as MONAI's Cumulative does, so
    every rank must call them (collective calls). The gathered buffer is kept until the local
    buffer changes."""

    def __init__(self, reduction="mean", get_not_nans=False):
        reduction = str(getattr(reduction, "value", reduction))
        metrics.reduce_metric(np.zeros((1, 1)), reduction)  # validates the reduction now
        self.reduction = reduction
        self.get_not_nans = get_not_nans
        self._buffer = []
        self._synced = None

    def __call__(self, y_pred, y=None, **kwargs):
        """Values of one batch: (B, C, spatial...) arrays, or lists of channel-first (C, spatial...)
        items (each computed as a batch of one, as MONAI does)."""
        if isinstance(y_pred, (list, tuple)):
            values = np.concatenate(
                [self._compute(np.asarray(p)[None], np.asarray(g)[None], **kwargs) for p, g in zip(y_pred, y)]
            )
        else:
            values = np.asarray(self._compute(y_pred, y, **kwargs), dtype=np.float64)
        self._buffer.append(values)
        self._synced = None
        return values

    def _local_buffer(self):
        return np.concatenate(self._buffer, axis=0) if self._buffer else None

    def get_buffer(self):
        """The buffered per-item values (None when empty): this process's, or every rank's in
        rank order under torch.distributed."""
        if _distributed() is None:
            return self._local_buffer()
        if self._synced is None:
            self._synced = (_gather_rows(self._local_buffer()),)
        return self._synced[0]

    def reset(self):
        self._buffer = []
        self._synced = None

    def _data(self):
        data = self.get_buffer()
        if data is None:
            raise ValueError("the metric buffer is empty: call the metric on a batch first")
        return data

    def aggregate(self, reduction=None):
        value, not_nans = do_metric_reduction(self._data(), reduction or self.reduction)
        return (value, not_nans) if self.get_not_nans else value


def _drop_background(a, include_background):
    """MONAI's ignore_background on the class axis (axis 1): dropped only when there are > 1."""
    return a if include_background or a.shape[1] == 1 else a[:, 1:]


def _overlap_inputs(y_pred, y, num_classes):
    """(pred, gt, num_classes, pred_kind, gt_kind): an operand with one channel is a label map
    when there are more classes (num_classes, else the other side's channel count)."""
    p, g = np.asarray(y_pred), np.asarray(y)
    if p.ndim < 3 or g.ndim < 3:
        raise OptionError(f"y_pred.ndim = {p.ndim}, y.ndim = {g.ndim}: expected (B, C, spatial...) arrays")
    n = num_classes or max(p.shape[1], g.shape[1])
    pk = "labels" if p.shape[1] == 1 and n > 1 else "masks"
    gk = "labels" if g.shape[1] == 1 and n > 1 else "masks"
    if pk == gk == "masks" and p.shape != g.shape:
        raise OptionError(f"y_pred and y should have same shapes, got {p.shape} and {g.shape}.")
    p = as_labels(p, "y_pred") if pk == "labels" else as_mask(p, "y_pred")
    g = as_labels(g, "y") if gk == "labels" else as_mask(g, "y")
    return p, g, n, pk, gk


def _ignore_mask(y, ignore_index):
    """MONAI's create_ignore_mask as bool (B, 1, spatial...), True = kept; None without ignore_index."""
    if ignore_index is None:
        return None
    y = np.asarray(y)
    if y.shape[1] == 1:
        return as_labels(y, "y") != ignore_index
    if 0 <= ignore_index < y.shape[1]:
        return ~as_mask(y[:, ignore_index : ignore_index + 1], "y").astype(bool)
    return np.any(as_mask(y, "y"), axis=1, keepdims=True)


def _keep(a, mask, name):
    """Mask `a` (one-hot) to the kept voxels: a bool copy, or `a` as a mask when mask is None."""
    a = as_mask(a, name)
    return a if mask is None else np.logical_and(a, mask)


def _onehot(a, kind, n):
    """A label map (B, 1, spatial...) as bool one-hot (B, n, spatial...); masks pass through."""
    if kind == "masks":
        return a
    return a == np.arange(n).reshape((1, n) + (1,) * (a.ndim - 2))


def _counts(y_pred, y, num_classes=None, mask=None):
    """Exact (tp, fp, fn, tn) counts (B, C, 4) of binarised one-hot arrays or label maps, over
    the voxels of `mask` only when one is given (tn counts kept voxels only)."""
    p, g, n, pk, gk = _overlap_inputs(y_pred, y, num_classes)
    if mask is None:
        return metrics.confusion(p, g, num_classes=n if pk == gk == "labels" else 0, pred_kind=pk, gt_kind=gk)
    p, g = _keep(_onehot(p, pk, n), mask, "y_pred"), _keep(_onehot(g, gk, n), mask, "y")
    counts = metrics.confusion(p, g, pred_kind="masks", gt_kind="masks")
    flat = mask.reshape(mask.shape[0], -1)
    counts[..., 3] -= (flat.shape[1] - np.count_nonzero(flat, axis=1)).astype(np.uint64)[:, None]
    return counts


def _blank_channel(counts, ignore_index, include_background):
    """Counts of the kept classes with MONAI's ignored channel set to all-negative (tp, fp, fn = 0,
    tn = every voxel), as compute_iou and get_confusion_matrix zero it; (counts, blanked?)."""
    kept = _drop_background(counts, include_background)
    if ignore_index is None or not 0 <= ignore_index < kept.shape[1] + (0 if include_background else 1):
        return kept, False
    ch = ignore_index if include_background else ignore_index - 1
    if 0 <= ch < kept.shape[1]:
        kept = kept.copy()
        kept[:, ch, 3] = kept[:, ch].sum(axis=-1)
        kept[:, ch, :3] = 0
    return kept, True


def _foreground(a):
    """torch.argmax over the two channels of (B, 2, spatial...) as a bool foreground: channel 1 wins
    where it is larger than channel 0, or NaN while channel 0 is not (torch's argmax takes NaN as
    the maximum and the first maximal channel). bool reads as 0/1."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise DtypeError(f"per_component: y_pred / y dtype {a.dtype} is not a number type")
    bg, fg = a[:, 0], a[:, 1]
    if a.dtype.kind == "b":
        return fg & ~bg
    if a.dtype.kind == "f":
        return (fg > bg) | (np.isnan(fg) & ~np.isnan(bg))
    return fg > bg


def _voronoi_regions(gt):
    """MONAI's compute_voronoi_regions_fast of one item's ground-truth foreground (spatial...):
    the connected components (full connectivity: 8 in 2-D, 26 in 3-D) numbered 1..K, and every
    voxel given the number of the component holding its nearest component voxel (euclidean; ties
    resolved by the feature transform). Computed as MONAI does on the CPU, with scipy.ndimage's
    label and distance_transform_edt(return_indices=True): the library's distance transform
    returns distances, not the nearest voxel, and it has no connected-component labelling, so the
    assignment (whose ties MONAI resolves by scipy's feature transform) is scipy's. Returns
    (regions int32, K)."""
    try:
        from scipy import ndimage
    except ImportError as e:
        raise ImportError(
            "per_component=True needs scipy (scipy.ndimage labels the components and assigns the "
            "Voronoi regions, as in MONAI): pip install scipy"
        ) from e
    structure = ndimage.generate_binary_structure(gt.ndim, gt.ndim)
    components, k = ndimage.label(gt, structure=structure)
    indices = ndimage.distance_transform_edt(components == 0, return_distances=False, return_indices=True)
    return components[tuple(indices)], k


def _region_counts(regions, k, pred, gt):
    """Exact (tp, fp, fn) per Voronoi region 1..k, (k, 3) int64: from the library's confusion
    kernel, reading each region's foreground voxels as one class (background voxels as class 0);
    with more regions than the kernel's DICE_MAX_CLASSES, one np.bincount of the
    (region, gt, pred) codes."""
    if k + 1 <= MAX_CLASSES:
        p = np.where(pred, regions, 0)[None, None]
        g = np.where(gt, regions, 0)[None, None]
        counts = metrics.confusion(p, g, num_classes=k + 1, pred_kind="labels", gt_kind="labels")[0, 1:, :3]
        return counts.astype(np.int64)
    code = regions.astype(np.int64).reshape(-1) * 4 + gt.reshape(-1) * 2 + pred.reshape(-1)
    hist = np.bincount(code, minlength=(k + 1) * 4).reshape(k + 1, 4)[1:]
    return np.stack([hist[:, 3], hist[:, 1], hist[:, 2]], axis=1)  # codes: 1 = fp, 2 = fn, 3 = tp


def _per_component_dice(y_pred, y, ignore_empty=True):
    """MONAI's per_component Dice (DiceHelper.compute_cc_dice), (B, 1) float64.

    y_pred and y: (B, 2, H, W) or (B, 2, D, H, W) of one shape (channel 0 background, channel 1
    foreground; the foreground is where torch's argmax over the channels picks channel 1, see
    _foreground). Per item: an empty ground-truth foreground gives NaN with ignore_empty, else 1
    if the predicted foreground is empty too and 0 if not; otherwise the ground truth's connected
    components and their Voronoi regions (_voronoi_regions) split the image, and the value is the
    mean over the regions of 2 tp / (2 tp + fp + fn) within the region (every region holds its
    component, so no denominator is 0). include_background and ignore_index play no part (MONAI
    computes the ignore mask but does not apply it on this path). Other shapes raise ShapeError,
    as MONAI raises ValueError."""
    p, g = np.asarray(y_pred), np.asarray(y)
    if p.ndim not in (4, 5) or g.ndim not in (4, 5) or p.shape[1] != 2 or g.shape[1] != 2 or p.shape != g.shape:
        raise ShapeError(
            "per_component requires matching 4D/5D binary tensors (B, 2, H, W) or (B, 2, D, H, W). "
            f"Got y_pred={p.shape}, y={g.shape}."
        )
    pred, gt = _foreground(p), _foreground(g)
    out = np.empty((p.shape[0], 1), dtype=np.float64)
    for b in range(p.shape[0]):
        if not gt[b].any():
            out[b, 0] = np.nan if ignore_empty else (0.0 if pred[b].any() else 1.0)
            continue
        regions, k = _voronoi_regions(gt[b])
        tp, fp, fn = _region_counts(regions, k, pred[b], gt[b]).T.astype(np.float64)
        out[b, 0] = np.mean(2.0 * tp / (2.0 * tp + fp + fn))
    return out


def compute_dice(
    y_pred, y, include_background=True, ignore_empty=True, num_classes=None, per_component=False, ignore_index=None
):
    """monai.metrics.compute_dice: 2|P∩G| / (|P| + |G|) per (item, kept class), (B, C_kept);
    an empty ground truth gives NaN (ignore_empty) or 1 if the prediction is empty too, else 0.
    per_component=True: (B, 1), see _per_component_dice."""
    if per_component:
        return _per_component_dice(y_pred, y, ignore_empty)
    counts = _counts(y_pred, y, num_classes, _ignore_mask(y, ignore_index))
    return metrics.overlap_metric(
        counts, "dice", include_background=include_background, empty_gt="nan" if ignore_empty else "one_if_both_empty"
    )


def compute_iou(y_pred, y, include_background=True, ignore_empty=True, ignore_index=None):
    """monai.metrics.compute_iou: |P∩G| / |P∪G| per (item, kept class), (B, C_kept); empty ground
    truth as compute_dice."""
    p, g = np.asarray(y_pred), np.asarray(y)
    if ignore_index is None:
        counts = _counts(p, g)
    else:
        if p.shape != g.shape:
            raise OptionError(f"y_pred and y should have same shapes, got {p.shape} and {g.shape}.")
        counts = metrics.confusion(as_mask(p, "y_pred"), as_mask(g, "y"), pred_kind="masks", gt_kind="masks")
    kept, blanked = _blank_channel(counts, ignore_index, include_background)
    if ignore_index is not None and not blanked:
        kept = _drop_background(_counts(p, g, mask=_ignore_mask(g, ignore_index)), include_background)
    return metrics.overlap_metric(kept, "iou", empty_gt="nan" if ignore_empty else "one_if_both_empty")


class DiceHelper:
    """monai.metrics.DiceHelper: Dice of raw predictions in one call. `apply_argmax` (default: not
    threshold) takes the argmax over the channels of y_pred (first maximal channel); `threshold`
    takes y_pred > 0.5 (of sigmoid(y_pred) with `activate`); a one-channel y_pred with
    num_classes > 1 is a label map and is read as is. Then compute_dice per (item, kept class)
    and do_metric_reduction with `reduction`: (value, not_nans) with get_not_nans, else value.
    include_background defaults to `threshold`. per_component=True computes MONAI's per-component
    Dice (B, 1) of y_pred as given after the argmax / threshold step: MONAI accepts only a
    two-channel y_pred there, so only apply_argmax=False works (its argmax gives one channel, and
    its threshold a bool tensor torch's argmax rejects: both raise, ShapeError / OptionError here)."""

    def __init__(
        self,
        include_background=None,
        threshold=False,
        apply_argmax=None,
        activate=False,
        get_not_nans=True,
        reduction="mean_batch",
        ignore_empty=True,
        num_classes=None,
        sigmoid=None,
        softmax=None,
        per_component=False,
        ignore_index=None,
    ):
        threshold = threshold if sigmoid is None else sigmoid
        apply_argmax = apply_argmax if softmax is None else softmax
        self.threshold = threshold
        self.include_background = threshold if include_background is None else include_background
        self.apply_argmax = (not threshold) if apply_argmax is None else apply_argmax
        self.activate = activate
        self.get_not_nans = get_not_nans
        self.reduction = str(getattr(reduction, "value", reduction))
        self.ignore_empty = ignore_empty
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.per_component = per_component

    def __call__(self, y_pred, y):
        p = np.asarray(y_pred)
        n = p.shape[1] if self.num_classes is None else self.num_classes
        decide = not (p.shape[1] == 1 and n > 1)
        if decide and self.apply_argmax and n > 1:
            p = np.argmax(p, axis=1)[:, None]
        elif decide and self.threshold:
            if self.activate:
                with np.errstate(over="ignore"):
                    p = 1.0 / (1.0 + np.exp(-p))
            p = p > 0.5
            if self.per_component:  # MONAI's torch.argmax then rejects the bool tensor
                raise OptionError(
                    "per_component=True with threshold=True: MONAI's per-component Dice takes the "
                    "argmax of the thresholded (bool) prediction, which torch rejects; pass "
                    "apply_argmax=False and a binarised two-channel y_pred"
                )
        if self.per_component:
            data = _per_component_dice(p, y, self.ignore_empty)
        else:
            data = compute_dice(p, y, self.include_background, self.ignore_empty, n, ignore_index=self.ignore_index)
        value, not_nans = do_metric_reduction(data, self.reduction)
        return (value, not_nans) if self.get_not_nans else value


class DiceMetric(_Cumulative):
    """monai.metrics.DiceMetric (values of compute_dice). With reduction "mean_batch" and
    return_with_label (True, or a list of names), aggregate() returns {label: value rounded to 4
    digits}, keyed "label_{c}" by absolute class index when True. per_component=True gives one value
    per item, (B, 1) (see _per_component_dice)."""

    def __init__(
        self,
        include_background=True,
        reduction="mean",
        get_not_nans=False,
        ignore_empty=True,
        num_classes=None,
        return_with_label=False,
        per_component=False,
        ignore_index=None,
    ):
        super().__init__(reduction, get_not_nans)
        self.per_component = per_component
        self.include_background = include_background
        self.ignore_empty = ignore_empty
        self.num_classes = num_classes
        self.return_with_label = return_with_label
        self.ignore_index = ignore_index

    def _compute(self, y_pred, y):
        if self.per_component:
            if np.ndim(y_pred) < 3:
                raise ShapeError(
                    f"y_pred should have at least 3 dimensions (batch, channel, spatial), got {np.ndim(y_pred)}."
                )
            return _per_component_dice(y_pred, y, self.ignore_empty)
        return compute_dice(
            y_pred, y, self.include_background, self.ignore_empty, self.num_classes, ignore_index=self.ignore_index
        )

    def aggregate(self, reduction=None):
        value, not_nans = do_metric_reduction(self._data(), reduction or self.reduction)
        if self.reduction == "mean_batch" and self.return_with_label:
            if isinstance(self.return_with_label, bool):
                first = 0 if self.include_background else 1
                keys = [f"label_{i + first}" for i in range(len(value))]
            else:
                keys = list(self.return_with_label)
            value = {k: round(float(v), 4) for k, v in zip(keys, value)}
        return (value, not_nans) if self.get_not_nans else value


class MeanIoU(_Cumulative):
    """monai.metrics.MeanIoU (values of compute_iou)."""

    def __init__(
        self, include_background=True, reduction="mean", get_not_nans=False, ignore_empty=True, ignore_index=None
    ):
        super().__init__(reduction, get_not_nans)
        self.include_background = include_background
        self.ignore_empty = ignore_empty
        self.ignore_index = ignore_index

    def _compute(self, y_pred, y):
        return compute_iou(y_pred, y, self.include_background, self.ignore_empty, self.ignore_index)


_GDS_WEIGHTS = ("square", "simple", "uniform")


def compute_generalized_dice(
    y_pred, y, include_background=True, weight_type="square", sum_over_classes=False, ignore_index=None, epsilon=1e-8
):
    """monai.metrics.compute_generalized_dice: per item 2 sum_c w_c |P_c∩G_c| / sum_c w_c (|P_c| + |G_c|)
    ((B, 1) with sum_over_classes, else per class (B, C_kept) without the sums), w_c = 1/|G_c|^2
    (square), 1/|G_c| (simple) or 1 (uniform); a class absent from the ground truth takes the
    item's largest finite weight (1 if none). A zero denominator gives 1 (per class: 1 if the
    weighted prediction is 0, else 0). With ignore_index, its voxels leave every sum and a class
    index is dropped from the channels. `epsilon` is accepted and unused, as in MONAI."""
    weight_type = str(getattr(weight_type, "value", weight_type))
    if weight_type not in _GDS_WEIGHTS:
        raise OptionError(f"weight_type = {weight_type!r} is not one of {list(_GDS_WEIGHTS)}")
    p, g = np.asarray(y_pred), np.asarray(y)
    if p.ndim < 3:
        raise OptionError(f"y_pred should have at least 3 dimensions (batch, channel, spatial), got {p.ndim}.")
    if p.shape != g.shape:
        raise OptionError(f"y_pred - {p.shape} - and y - {g.shape} - should have the same shapes.")
    mask = _ignore_mask(g, ignore_index)
    counts = metrics.confusion(_keep(p, mask, "y_pred"), _keep(g, mask, "y"), pred_kind="masks", gt_kind="masks")
    channels = [c for c in range(counts.shape[1]) if (include_background or c > 0) and c != ignore_index]
    if not channels:
        return np.zeros((counts.shape[0], 1))
    counts = counts[:, channels]
    c = counts.astype(np.float64)
    inter, pred_o, gt_o = c[..., 0], c[..., 0] + c[..., 1], c[..., 0] + c[..., 2]
    with np.errstate(divide="ignore"):
        w = {"square": 1.0 / (gt_o * gt_o), "simple": 1.0 / gt_o}.get(weight_type, np.ones_like(gt_o))
    infs = np.isinf(w)
    finite_max = np.where(infs, 0.0, w).max(axis=1, keepdims=True)
    w = np.where(infs, np.where(finite_max > 0, finite_max, 1.0), w)
    if sum_over_classes:
        numer = 2.0 * (inter * w).sum(axis=1, keepdims=True)
        denom = ((gt_o + pred_o) * w).sum(axis=1, keepdims=True)
        fill = np.ones_like(denom)
    else:
        numer, denom = 2.0 * inter * w, (gt_o + pred_o) * w
        fill = np.where(pred_o * w == 0, 1.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom == 0, fill, numer / denom)


class GeneralizedDiceScore(_Cumulative):
    """monai.metrics.GeneralizedDiceScore: compute_generalized_dice summed over classes when the
    reduction is mean, sum, mean_channel or sum_channel (per class otherwise); aggregate() returns
    the reduced value only (its `reduction` argument is ignored, as MONAI's deprecation says)."""

    def __init__(
        self, include_background=True, reduction="mean", weight_type="square", ignore_index=None, epsilon=1e-8
    ):
        super().__init__(reduction)
        weight_type = str(getattr(weight_type, "value", weight_type))
        if weight_type not in _GDS_WEIGHTS:
            raise OptionError(f"weight_type = {weight_type!r} is not one of {list(_GDS_WEIGHTS)}")
        self.include_background = include_background
        self.weight_type = weight_type
        self.epsilon = float(epsilon)
        self.ignore_index = ignore_index
        self.sum_over_classes = self.reduction in ("sum", "mean", "mean_channel", "sum_channel")

    def _compute(self, y_pred, y):
        return compute_generalized_dice(
            y_pred, y, self.include_background, self.weight_type, self.sum_over_classes, self.ignore_index
        )

    def aggregate(self, reduction=None):
        return do_metric_reduction(self._data(), self.reduction)[0]


def get_confusion_matrix(y_pred, y, include_background=True, ignore_index=None):
    """monai.metrics.get_confusion_matrix: (B, C_kept, 4) float64 (tp, fp, tn, fn) per item and class
    (MONAI's order), from the library's exact counts. (B, C) inputs are classification outputs."""
    p, g = np.asarray(y_pred), np.asarray(y)
    if p.ndim < 2:
        raise OptionError("y_pred should have at least two dimensions.")
    if p.ndim == 2:  # classification: one "pixel" per (item, class)
        p, g = p[..., None], g[..., None] if g.ndim == 2 else g
    kp, kg = _drop_background(p, include_background), _drop_background(g, include_background)
    if kp.shape != kg.shape:
        raise OptionError(f"y_pred and y should have same shapes, got {kp.shape} and {kg.shape}.")
    nan = np.isnan(kg) if kg.dtype.kind == "f" else None
    if nan is not None and nan.any():
        if ignore_index is not None:
            raise NotImplementedError("ignore_index with NaN in y is not implemented by dice.compat.monai")
        return _confusion_nan_gt(kp, kg, nan)
    if ignore_index is None:
        counts = metrics.confusion(as_mask(kp, "y_pred"), as_mask(kg, "y"), pred_kind="masks", gt_kind="masks")
    else:
        counts = metrics.confusion(as_mask(p, "y_pred"), as_mask(g, "y"), pred_kind="masks", gt_kind="masks")
        counts, blanked = _blank_channel(counts, ignore_index, include_background)
        if not blanked:
            counts = _drop_background(_counts(p, g, mask=_ignore_mask(g, ignore_index)), include_background)
    return counts[..., [0, 1, 3, 2]].astype(np.float64)


def _confusion_nan_gt(p, g, nan):
    """MONAI's matrices when y holds NaN: a NaN voxel is neither tp nor tn, and the (item, class)
    entries holding one get fp = fn = NaN (their positive count is NaN)."""
    counts = metrics.confusion(
        as_mask(p, "y_pred"), as_mask(np.where(nan, 0.0, g), "y"), pred_kind="masks", gt_kind="masks"
    )
    cm = counts[..., [0, 1, 3, 2]].astype(np.float64)
    b, c = p.shape[:2]
    nan = nan.reshape(b, c, -1)
    cm[..., 2] -= np.count_nonzero(nan & (p.reshape(b, c, -1) == 0), axis=-1)
    cm[nan.any(axis=-1)] *= [1.0, np.nan, 1.0, np.nan]
    return cm


_CM_ALIASES = {
    "tpr": ("sensitivity", "recall", "hit_rate", "true_positive_rate", "tpr"),
    "tnr": ("specificity", "selectivity", "true_negative_rate", "tnr"),
    "ppv": ("precision", "positive_predictive_value", "ppv"),
    "npv": ("negative_predictive_value", "npv"),
    "fnr": ("miss_rate", "false_negative_rate", "fnr"),
    "fpr": ("fall_out", "false_positive_rate", "fpr"),
    "fdr": ("false_discovery_rate", "fdr"),
    "for": ("false_omission_rate", "for"),
    "pt": ("prevalence_threshold", "pt"),
    "ts": ("threat_score", "critical_success_index", "ts", "csi"),
    "acc": ("accuracy", "acc"),
    "ba": ("balanced_accuracy", "ba"),
    "f1": ("f1_score", "f1"),
    "mcc": ("matthews_correlation_coefficient", "mcc"),
    "fm": ("fowlkes_mallows_index", "fm"),
    "bm": ("informedness", "bookmaker_informedness", "bm", "youden_index", "youden"),
    "mk": ("markedness", "deltap", "mk"),
}
_CM_NAME = {alias: short for short, aliases in _CM_ALIASES.items() for alias in aliases}


def check_confusion_matrix_metric_name(metric_name):
    """The short name (tpr, tnr, ppv, ...) of a confusion-matrix metric name or alias (spaces and
    case ignored); NotImplementedError for an unknown one."""
    short = _CM_NAME.get(str(metric_name).replace(" ", "_").lower())
    if short is None:
        raise NotImplementedError("the metric is not implemented.")
    return short


def _ratio(num, den):
    """num / den, NaN where den == 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def compute_confusion_matrix_metric(metric_name, confusion_matrix):
    """monai.metrics.compute_confusion_matrix_metric of (..., 4) (tp, fp, tn, fn) values (counts or
    reduced counts): the metric per leading entry, NaN where its denominator is 0; a 1-D input
    gives shape (1,)."""
    metric = check_confusion_matrix_metric_name(metric_name)
    cm = np.asarray(confusion_matrix, dtype=np.float64)
    if cm.ndim == 1:
        cm = cm[None]
    if cm.shape[-1] != 4:
        raise OptionError("the size of the last dimension of confusion_matrix should be 4.")
    tp, fp, tn, fn = (cm[..., k] for k in range(4))
    p, n = tp + fn, fp + tn
    simple = {
        "tpr": (tp, p),
        "tnr": (tn, n),
        "ppv": (tp, tp + fp),
        "npv": (tn, tn + fn),
        "fnr": (fn, p),
        "fpr": (fp, n),
        "fdr": (fp, fp + tp),
        "for": (fn, fn + tn),
        "ts": (tp, tp + fn + fp),
        "acc": (tp + tn, p + n),
        "f1": (2.0 * tp, 2.0 * tp + fn + fp),
    }
    if metric in simple:
        return _ratio(*simple[metric])
    tpr, tnr = _ratio(tp, p), _ratio(tn, n)
    if metric == "pt":
        with np.errstate(invalid="ignore"):
            return _ratio(np.sqrt(tpr * (1.0 - tnr)) + tnr - 1.0, tpr + tnr - 1.0)
    if metric == "ba":
        return (tpr + tnr) / 2.0
    if metric == "mcc":
        return _ratio(tp * tn - fp * fn, np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
    ppv = _ratio(tp, tp + fp)
    if metric == "fm":
        return np.sqrt(ppv * tpr)
    if metric == "bm":
        return tpr + tnr - 1.0
    return ppv + _ratio(tn, tn + fn) - 1.0  # mk


class ConfusionMatrixMetric(_Cumulative):
    """monai.metrics.ConfusionMatrixMetric: each call returns get_confusion_matrix (B, C_kept, 4);
    aggregate() returns one entry per metric name (a list): with compute_sample, the metric of each
    item's matrix reduced; otherwise the metric of the reduced matrices. Each entry is
    (value, not_nans) with get_not_nans."""

    def __init__(
        self,
        include_background=True,
        metric_name="hit_rate",
        compute_sample=False,
        reduction="mean",
        get_not_nans=False,
        ignore_index=None,
    ):
        super().__init__(reduction, get_not_nans)
        self.include_background = include_background
        self.metric_name = (metric_name,) if isinstance(metric_name, str) else tuple(metric_name)
        self.compute_sample = compute_sample
        self.ignore_index = ignore_index

    def _compute(self, y_pred, y):
        if np.ndim(y_pred) < 2:
            raise OptionError("y_pred should have at least two dimensions.")
        if np.ndim(y_pred) == 2 or (np.ndim(y_pred) == 3 and np.shape(y_pred)[-1] == 1):
            self.compute_sample = False  # classification (MONAI warns and turns it off)
        return get_confusion_matrix(y_pred, y, self.include_background, self.ignore_index)

    def aggregate(self, compute_sample=False, reduction=None):
        reduction = reduction or self.reduction
        sample = compute_sample or self.compute_sample
        reduced = None
        if not sample and _counts_reducible(reduction):
            reduced = _allreduce_counts(self._local_buffer(), reduction)  # exact across ranks
        else:
            data = self._data()
        results = []
        for name in self.metric_name:
            if sample:
                value, not_nans = do_metric_reduction(compute_confusion_matrix_metric(name, data), reduction)
            else:
                value, not_nans = reduced if reduced is not None else do_metric_reduction(data, reduction)
                value = compute_confusion_matrix_metric(name, value)
            results.append((value, not_nans) if self.get_not_nans else value)
        return results


def _counts_reducible(reduction):
    """Whether aggregate() reduces confusion matrices across ranks with an all-reduce of sums and
    counts (exact) rather than by gathering every item: under torch.distributed, for reductions
    over the items that are sums, or per-class means of sums ("mean" averages per-item means,
    which are not integers: those are gathered)."""
    return _distributed() is not None and reduction in ("sum", "sum_batch", "mean_batch")


def _f_beta(confusion_matrix, beta):
    """(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp) of (..., 4) matrices, NaN for a zero denominator."""
    cm = np.asarray(confusion_matrix, dtype=np.float64)
    if cm.ndim == 1:
        cm = cm[None]
    if cm.shape[-1] != 4:
        raise OptionError("the size of the last dimension of confusion_matrix should be 4.")
    tp, fp, fn = cm[..., 0], cm[..., 1], cm[..., 3]
    b2 = beta**2
    return _ratio((1.0 + b2) * tp, (1.0 + b2) * tp + b2 * fn + fp)


class FBetaScore(_Cumulative):
    """monai.metrics.FBetaScore: each call returns the (B, C_kept, 4) confusion matrices; aggregate()
    returns [F-beta of the reduced matrices] (with not_nans as a pair under get_not_nans)."""

    def __init__(self, beta=1.0, include_background=True, reduction="mean", get_not_nans=False):
        super().__init__(reduction, get_not_nans)
        self.beta = beta
        self.include_background = include_background

    def _compute(self, y_pred, y):
        if np.ndim(y_pred) < 2:
            raise OptionError("y_pred should have at least two dimensions.")
        return get_confusion_matrix(y_pred, y, self.include_background)

    def aggregate(self, compute_sample=False, reduction=None):
        reduction = reduction or self.reduction
        if _counts_reducible(reduction):
            value, not_nans = _allreduce_counts(self._local_buffer(), reduction)  # exact across ranks
        else:
            value, not_nans = do_metric_reduction(self._data(), reduction)
        value = _f_beta(value, self.beta)
        return [(value, not_nans) if self.get_not_nans else value]


def compute_absolute_volume_difference(y_pred, y, include_background=True, ignore_empty=True):
    """monai.metrics.compute_absolute_volume_difference: | |P_c| - |G_c| | voxels per (item, kept
    class), (B, C_kept); NaN where the ground truth is empty when ignore_empty."""
    p, g = np.asarray(y_pred), np.asarray(y)
    if p.ndim < 3:
        raise OptionError(f"y_pred should have at least 3 dimensions (batch, channel, spatial), got {p.ndim}.")
    p, g = _drop_background(p, include_background), _drop_background(g, include_background)
    if p.shape != g.shape:
        raise OptionError(f"y_pred and y should have the same shape, got {p.shape} and {g.shape}.")
    counts = metrics.confusion(as_mask(p, "y_pred"), as_mask(g, "y"), pred_kind="masks", gt_kind="masks")
    vol_pred = counts[..., 0] + counts[..., 1]
    vol_true = counts[..., 0] + counts[..., 2]
    avd = np.abs(vol_pred.astype(np.float64) - vol_true.astype(np.float64))
    return np.where(vol_true > 0, avd, np.nan) if ignore_empty else avd


class AbsoluteVolumeDifferenceMetric(_Cumulative):
    """monai.metrics.AbsoluteVolumeDifferenceMetric (values of compute_absolute_volume_difference)."""

    def __init__(self, include_background=True, reduction="mean", get_not_nans=False, ignore_empty=True):
        super().__init__(reduction, get_not_nans)
        self.include_background = include_background
        self.ignore_empty = ignore_empty

    def _compute(self, y_pred, y):
        return compute_absolute_volume_difference(y_pred, y, self.include_background, self.ignore_empty)


def _spacing_per_item(spacing, batch):
    """MONAI's spacing forms as one entry per item: None, a number, one per axis, or a sequence
    (one per item) of those."""
    if (
        isinstance(spacing, (list, tuple))
        and spacing
        and isinstance(spacing[0], (list, tuple, np.ndarray))
        or (spacing is not None and np.ndim(spacing) == 2)
    ):
        if len(spacing) != batch:
            raise OptionError(f"spacing holds {len(spacing)} entries for a batch of {batch}")
        return list(spacing)
    return [spacing] * batch


def _surface(y_pred, y, kind, spacing, include_background, distance_metric, **options):
    """The library's surface metric per (item, kept class) of one-hot masks."""
    p, g = as_mask(y_pred, "y_pred"), as_mask(y, "y")
    if p.shape != g.shape:
        raise OptionError(f"y_pred and y should have same shapes, got {p.shape} and {g.shape}.")
    if p.ndim not in (4, 5) and kind == "surface_dice":
        raise OptionError("y_pred and y should be one-hot encoded: [B,C,H,W] or [B,C,H,W,D].")
    common = dict(
        include_background=include_background,
        distance_metric=distance_metric,
        pred_kind="masks",
        gt_kind="masks",
        **options,
    )
    if distance_metric != "euclidean":
        spacing = None  # MONAI's chessboard/taxicab transforms (scipy's cdt) ignore the spacing
    per_item = _spacing_per_item(spacing, p.shape[0])
    if spacing is None or all(s is per_item[0] for s in per_item):
        return metrics.surface_metric(p, g, kind, spacing=per_item[0] if per_item else None, **common)
    return np.concatenate(
        [metrics.surface_metric(p[i : i + 1], g[i : i + 1], kind, spacing=s, **common) for i, s in enumerate(per_item)]
    )


def compute_hausdorff_distance(
    y_pred,
    y,
    include_background=False,
    distance_metric="euclidean",
    percentile=None,
    directed=False,
    spacing=None,
    ignore_index=None,
):
    """monai.metrics.compute_hausdorff_distance: (B, C_kept) maximum (or `percentile`) of the edge
    distances, both directions unless `directed`; NaN for an empty ground truth, inf for an empty
    prediction; NaN for the class `ignore_index` (its voxels are not masked here: the metric class
    does that)."""
    out = _surface(
        y_pred, y, "hausdorff", spacing, include_background, distance_metric, percentile=percentile, directed=directed
    )
    first = 0 if include_background else 1  # MONAI's class offset, also with one channel
    if ignore_index is not None and 0 <= ignore_index - first < out.shape[1]:
        out[:, ignore_index - first] = np.nan
    return out


def compute_average_surface_distance(
    y_pred, y, include_background=False, symmetric=False, distance_metric="euclidean", spacing=None, ignore_index=None
):
    """monai.metrics.compute_average_surface_distance: (B, C_kept) mean distance from the
    prediction's edge voxels to the ground truth's edge (both directions pooled with `symmetric`).
    `ignore_index` only silences MONAI's empty-mask warnings there: the metric class masks."""
    return _surface(y_pred, y, "average_distance", spacing, include_background, distance_metric, symmetric=symmetric)


def _subvoxel_surface_dice(p, g, thresholds, include_background, spacing):
    """MONAI's use_subvoxels=True per (item, kept class): the library's surfel-area surface Dice
    (surfels on the corner grid, DeepMind's areas; the areas within the class threshold of the
    other surface over all areas, the threshold test in float32 as MONAI's)."""
    common = dict(
        include_background=include_background, class_thresholds=thresholds.tolist(), pred_kind="masks", gt_kind="masks"
    )
    per_item = _spacing_per_item(spacing, p.shape[0])
    if all(s is per_item[0] for s in per_item):
        return metrics.surface_metric(p, g, "surface_dice_subvoxels", spacing=per_item[0], **common)
    return np.concatenate(
        [
            metrics.surface_metric(p[i : i + 1], g[i : i + 1], "surface_dice_subvoxels", spacing=s, **common)
            for i, s in enumerate(per_item)
        ]
    )


def compute_surface_dice(
    y_pred,
    y,
    class_thresholds,
    include_background=False,
    distance_metric="euclidean",
    spacing=None,
    use_subvoxels=False,
    ignore_index=None,
):
    """monai.metrics.compute_surface_dice: (B, C_kept) fraction of both edges within the class's
    threshold of the other edge; NaN when both are empty, 0 when one is. use_subvoxels=True weighs
    each boundary element by its surfel area (DeepMind's surface Dice). ignore_index's voxels are
    removed from both masks first."""
    mask = _ignore_mask(y, ignore_index)
    if mask is not None:
        if np.shape(y_pred) != np.shape(y):
            raise OptionError(f"y_pred and y should have same shapes, got {np.shape(y_pred)} and {np.shape(y)}.")
        y_pred, y = _keep(y_pred, mask, "y_pred"), _keep(y, mask, "y")
    thresholds = np.asarray(class_thresholds, dtype=np.float64).reshape(-1)
    if not np.isfinite(thresholds).all():
        raise OptionError("All class thresholds need to be finite.")
    if (thresholds < 0).any():
        raise OptionError("All class thresholds need to be >= 0.")
    if not use_subvoxels:
        return _surface(
            y_pred,
            y,
            "surface_dice",
            spacing,
            include_background,
            distance_metric,
            class_thresholds=thresholds.tolist(),
        )
    if distance_metric != "euclidean":
        raise NotImplementedError("use_subvoxels=True is implemented for distance_metric='euclidean' only")
    p, g = as_mask(y_pred, "y_pred"), as_mask(y, "y")
    if p.ndim not in (4, 5) or p.shape != g.shape:
        raise OptionError(
            f"y_pred and y should be one-hot encoded [B,C,H,W] or [B,C,H,W,D] arrays of one shape, "
            f"got {p.shape} and {g.shape}."
        )
    kept = p.shape[1] - (0 if include_background or p.shape[1] == 1 else 1)
    if kept != thresholds.size:
        raise OptionError(f"number of classes ({kept}) does not match number of class thresholds ({thresholds.size}).")
    return _subvoxel_surface_dice(p, g, thresholds, include_background, spacing)


class _Surface(_Cumulative):
    masks_inputs = True  # MONAI's class removes ignore_index's voxels before its function runs

    def __init__(self, reduction, get_not_nans, ignore_index, **options):
        super().__init__(reduction, get_not_nans)
        self.options = dict(options, ignore_index=ignore_index)

    def _compute(self, y_pred, y, spacing=None):
        if np.ndim(y_pred) < 3:
            raise OptionError("y_pred should have at least three dimensions.")
        mask = _ignore_mask(y, self.options["ignore_index"]) if self.masks_inputs else None
        if mask is not None:
            y_pred, y = _keep(y_pred, mask, "y_pred"), _keep(y, mask, "y")
        return self.function(y_pred, y, spacing=spacing, **self.options)


class HausdorffDistanceMetric(_Surface):
    """monai.metrics.HausdorffDistanceMetric (values of compute_hausdorff_distance; `spacing` is a
    keyword of each call)."""

    function = staticmethod(compute_hausdorff_distance)

    def __init__(
        self,
        include_background=False,
        distance_metric="euclidean",
        percentile=None,
        directed=False,
        reduction="mean",
        get_not_nans=False,
        ignore_index=None,
    ):
        super().__init__(
            reduction,
            get_not_nans,
            ignore_index,
            include_background=include_background,
            distance_metric=distance_metric,
            percentile=percentile,
            directed=directed,
        )


class SurfaceDistanceMetric(_Surface):
    """monai.metrics.SurfaceDistanceMetric (values of compute_average_surface_distance)."""

    function = staticmethod(compute_average_surface_distance)

    def __init__(
        self,
        include_background=False,
        symmetric=False,
        distance_metric="euclidean",
        reduction="mean",
        get_not_nans=False,
        ignore_index=None,
    ):
        super().__init__(
            reduction,
            get_not_nans,
            ignore_index,
            include_background=include_background,
            symmetric=symmetric,
            distance_metric=distance_metric,
        )


class SurfaceDiceMetric(_Surface):
    """monai.metrics.SurfaceDiceMetric (values of compute_surface_dice)."""

    function = staticmethod(compute_surface_dice)
    masks_inputs = False  # compute_surface_dice masks itself

    def __init__(
        self,
        class_thresholds,
        include_background=False,
        distance_metric="euclidean",
        reduction="mean",
        get_not_nans=False,
        use_subvoxels=False,
        ignore_index=None,
    ):
        super().__init__(
            reduction,
            get_not_nans,
            ignore_index,
            class_thresholds=list(class_thresholds),
            include_background=include_background,
            distance_metric=distance_metric,
            use_subvoxels=use_subvoxels,
        )
