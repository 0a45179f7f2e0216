"""MONAI metrics (numpy in, numpy out), re-exported by dice.compat.monai: DiceMetric, MeanIoU,
HausdorffDistanceMetric, SurfaceDistanceMetric, SurfaceDiceMetric.

As in MONAI, `m(y_pred=..., y=...)` returns the per-item (B, C_kept) values of that batch and
buffers them; `m.aggregate()` reduces every buffered batch with m.reduction (NaN entries
skipped), returning `(value, not_nans)` with get_not_nans=True; `m.reset()` clears the buffer.
y_pred and y are binarised one-hot arrays (B, C, spatial...) (bool/uint8, or floats holding
only 0 and 1); with DiceMetric/MeanIoU's num_classes they may be label maps (B, 1, spatial...).
"""

import numpy as np

from .. import metrics


class _Cumulative:
    """MONAI's Cumulative buffer + aggregate, over a per-batch `_compute(y_pred, y, **kwargs)`."""

    def __init__(self, reduction="mean", get_not_nans=False):
        metrics.reduce_metric(np.zeros((1, 1)), reduction)  # validates the reduction now
        self.reduction = reduction
        self.get_not_nans = get_not_nans
        self._buffer = []

    def __call__(self, y_pred, y=None, **kwargs):
        values = np.asarray(self._compute(y_pred, y, **kwargs), dtype=np.float64)
        self._buffer.append(values)
        return values

    def get_buffer(self):
        return np.concatenate(self._buffer, axis=0) if self._buffer else None

    def reset(self):
        self._buffer = []

    def aggregate(self, reduction=None):
        data = self.get_buffer()
        if data is None:
            raise ValueError("the metric buffer is empty: call the metric on a batch first")
        reduction = reduction or self.reduction
        value, not_nans = metrics.reduce_metric(data, reduction)
        # MONAI's shapes: mean -> (1,) and not_nans (); sum -> () and ()
        if reduction in ("mean", "sum"):
            value = value if reduction == "mean" else value.reshape(())
            not_nans = not_nans.reshape(())
        return (value, not_nans) if self.get_not_nans else value


def _label_or_onehot(a, num_classes):
    """MONAI's DiceMetric/MeanIoU accept (B, 1, ...) label maps when num_classes is given."""
    a = np.asarray(a)
    if num_classes is not None and a.ndim >= 2 and a.shape[1] == 1 and num_classes > 1:
        if a.dtype.kind == "f":
            a = a.astype(np.int64)
        return a, "labels"
    return a, "masks"


class _Overlap(_Cumulative):
    metric = None

    def __init__(self, include_background=True, reduction="mean", get_not_nans=False, ignore_empty=True,
                 num_classes=None, return_with_label=False):
        super().__init__(reduction, get_not_nans)
        if return_with_label:
            raise NotImplementedError("return_with_label is not supported: index the (B, C) values instead")
        self.include_background = include_background
        self.ignore_empty = ignore_empty
        self.num_classes = num_classes

    def _compute(self, y_pred, y):
        p, pk = _label_or_onehot(y_pred, self.num_classes)
        g, gk = _label_or_onehot(y, self.num_classes)
        both_labels = pk == gk == "labels"
        counts = metrics.confusion(p, g, num_classes=self.num_classes if both_labels else 0, pred_kind=pk,
                                   gt_kind=gk)
        return metrics.overlap_metric(counts, self.metric, include_background=self.include_background,
                                      empty_gt="nan" if self.ignore_empty else "one_if_both_empty")


class DiceMetric(_Overlap):
    """monai.metrics.DiceMetric: 2|P∩G| / (|P| + |G|) per (item, class)."""

    metric = "dice"


class MeanIoU(_Overlap):
    """monai.metrics.MeanIoU: |P∩G| / |P∪G| per (item, class)."""

    metric = "iou"

    def __init__(self, include_background=True, reduction="mean", get_not_nans=False, ignore_empty=True):
        super().__init__(include_background, reduction, get_not_nans, ignore_empty)


class _Surface(_Cumulative):
    kind = None

    def __init__(self, include_background=False, distance_metric="euclidean", reduction="mean", get_not_nans=False,
                 **options):
        super().__init__(reduction, get_not_nans)
        self.options = dict(options, include_background=include_background, distance_metric=distance_metric)

    def _compute(self, y_pred, y, spacing=None):
        p, g = np.asarray(y_pred), np.asarray(y)
        if self.options["distance_metric"] != "euclidean":
            spacing = None  # MONAI's chessboard/taxicab transforms (scipy's cdt) ignore the spacing
        if spacing is not None and np.ndim(spacing) == 2 or (
                isinstance(spacing, (list, tuple)) and spacing and isinstance(spacing[0], (list, tuple, np.ndarray))):
            # one spacing per batch item (MONAI accepts a list of them)
            return np.concatenate([self._compute(p[i:i + 1], g[i:i + 1], spacing=s) for i, s in enumerate(spacing)])
        return metrics.surface_metric(p, g, self.kind, spacing=spacing, pred_kind="masks", gt_kind="masks",
                                      **self.options)


class HausdorffDistanceMetric(_Surface):
    """monai.metrics.HausdorffDistanceMetric: the maximum (or `percentile`) of the distances
    between the edge voxels of prediction and ground truth, both directions unless `directed`."""

    kind = "hausdorff"

    def __init__(self, include_background=False, distance_metric="euclidean", percentile=None, directed=False,
                 reduction="mean", get_not_nans=False):
        super().__init__(include_background, distance_metric, reduction, get_not_nans, percentile=percentile,
                         directed=directed)


class SurfaceDistanceMetric(_Surface):
    """monai.metrics.SurfaceDistanceMetric: mean distance from the prediction's edge voxels to the
    ground truth's edge (both directions pooled with `symmetric`)."""

    kind = "average_distance"

    def __init__(self, include_background=False, symmetric=False, distance_metric="euclidean", reduction="mean",
                 get_not_nans=False):
        super().__init__(include_background, distance_metric, reduction, get_not_nans, symmetric=symmetric)


class SurfaceDiceMetric(_Surface):
    """monai.metrics.SurfaceDiceMetric (normalised surface Dice at a tolerance per kept class)."""

    kind = "surface_dice"

    def __init__(self, class_thresholds, include_background=False, distance_metric="euclidean", reduction="mean",
                 get_not_nans=False, use_subvoxels=False):
        if use_subvoxels:
            raise NotImplementedError("use_subvoxels=True (surfel-area weighting) is not implemented by the library")
        super().__init__(include_background, distance_metric, reduction, get_not_nans,
                         class_thresholds=[float(t) for t in class_thresholds])
