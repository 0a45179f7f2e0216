"""Drop-in for torchmetrics.segmentation (numpy in, numpy out): GeneralizedDiceScore, DiceScore,
MeanIoU, HausdorffDistance, and the per-sample functions of torchmetrics.functional.segmentation:
generalized_dice_score, dice_score, mean_iou, hausdorff_distance.

    m = DiceScore(num_classes=3)
    batch_value = m(preds, target)        # forward: this batch's value (also accumulated)
    m.update(preds, target); m.compute()  # the value over every batch since reset()

input_format "one-hot": (B, C, spatial...) arrays, binary of any integer dtype or bool, or float
scores (their argmax over C is taken, as torchmetrics does); "index": (B, spatial...) class indices
of any integer dtype; "mixed": each side either (the one with the channel axis is one-hot).
Counts come from the library's exact confusion kernel, distances from its distance transforms.
"""

import numpy as np

from .. import metrics
from .._errors import NdimError, OptionError

_FORMATS = ("one-hot", "index", "mixed")


class _Metric:
    """torchmetrics' Metric protocol over per-batch states: update() stores a batch's state,
    compute() the value of every stored state, forward()/__call__ the value of this batch's state
    alone (stored too), reset() forgets them."""

    def __init__(self, num_classes, include_background, input_format):
        if input_format not in _FORMATS:
            raise OptionError(f"input_format = {input_format!r} is not one of {list(_FORMATS)}")
        if num_classes is not None and int(num_classes) <= 0:
            raise OptionError(f"num_classes = {num_classes!r} must be a positive integer")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.include_background = include_background
        self.input_format = input_format
        self.reset()

    def _kinds(self, preds, target):
        """Decision kinds: an index side is "labels"; a one-hot side is "masks" (bool or any
        integer dtype, nonzero = member), or "argmax" when floating (torchmetrics reads float
        one-hot inputs as scores and takes their argmax)."""
        p, t = np.ndim(preds), np.ndim(target)
        if self.input_format == "index":
            onehot = (False, False)
        elif self.input_format == "one-hot":
            onehot = (True, True)
        else:
            onehot = (p > t, t > p)
        return tuple(
            ("argmax" if np.asarray(a).dtype.kind == "f" else "masks") if o else "labels"
            for a, o in zip((preds, target), onehot)
        )

    def _classes(self, preds, target):
        if self.num_classes is not None:
            return self.num_classes
        if self.input_format == "index":
            raise OptionError("Argument `num_classes` must be provided when `input_format` is 'index'.")
        return np.shape(preds)[1] if np.ndim(preds) >= np.ndim(target) else np.shape(target)[1]

    def _counts(self, preds, target):
        """Exact (tp, fp, fn, tn) counts (B, C_kept, 4)."""
        pk, tk = self._kinds(preds, target)
        counts = metrics.confusion(
            np.asarray(preds), np.asarray(target), num_classes=self._classes(preds, target), pred_kind=pk, gt_kind=tk
        )
        return counts if self.include_background or counts.shape[1] == 1 else counts[:, 1:]

    def update(self, preds, target):
        self._states.append(self._state(preds, target))

    def compute(self):
        if not self._states:
            raise ValueError("compute() before any update()")
        return self._value(self._states)

    def forward(self, preds, target):
        state = self._state(preds, target)
        self._states.append(state)
        return self._value([state])

    __call__ = forward

    def reset(self):
        self._states = []


def _stack(states, k):
    return np.concatenate([s[k] for s in states], axis=0)


def _divide(num, den):
    """num / den in float64 with IEEE results for den == 0 (0/0 = NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(num, np.float64) / np.asarray(den, np.float64)


class GeneralizedDiceScore(_Metric):
    """Per sample: 2 sum_c w_c |P_c ∩ G_c| / sum_c w_c (|P_c| + |G_c|), w_c = 1/|G_c|^2 (square),
    1/|G_c| (simple) or 1 (linear); the score is the mean over samples (per class with per_class)."""

    def __init__(
        self,
        num_classes,
        include_background=True,
        per_class=False,
        weight_type="square",
        input_format="one-hot",
        **kwargs,
    ):
        metrics.generalized_dice_score(np.zeros((1, 1, 4), np.uint64), weight_type=weight_type)  # validates
        self.per_class = per_class
        self.weight_type = weight_type
        super().__init__(num_classes, include_background, input_format)

    def _state(self, preds, target):
        pk, tk = self._kinds(preds, target)
        counts = metrics.confusion(
            np.asarray(preds), np.asarray(target), num_classes=self.num_classes, pred_kind=pk, gt_kind=tk
        )
        score = metrics.generalized_dice_score(
            counts, include_background=self.include_background, weight_type=self.weight_type, per_class=self.per_class
        )
        # torchmetrics squeezes: one kept class with per_class gives a 0-d value
        return np.asarray(score, dtype=np.float64).squeeze(), counts.shape[0]

    def _value(self, states):
        return sum(s * n for s, n in states) / sum(n for _, n in states)


class DiceScore(_Metric):
    """torchmetrics.segmentation.DiceScore: per (sample, kept class) 2|P∩G| / (|P| + |G|) (NaN when
    both are empty); average "micro" pools the classes' sums, "macro" takes the NaN-skipping mean
    of the classes, "weighted" weighs them by |G_c|, "none" keeps them; aggregation_level
    "global" sums the samples first. compute() is the NaN-skipping mean over samples."""

    def __init__(
        self,
        num_classes,
        include_background=True,
        average="macro",
        aggregation_level="samplewise",
        input_format="one-hot",
        **kwargs,
    ):
        if average not in ("micro", "macro", "weighted", "none", None):
            raise OptionError(
                f"Expected argument `average` to be one of ['micro', 'macro', 'weighted', 'none'] "
                f"or None, but got {average}."
            )
        if aggregation_level not in ("samplewise", "global"):
            raise OptionError(
                "Expected argument `aggregation_level` to be one of `samplewise`, `global`, but got "
                f"{aggregation_level}"
            )
        self.average = average
        self.aggregation_level = aggregation_level
        super().__init__(num_classes, include_background, input_format)

    def _state(self, preds, target):
        c = self._counts(preds, target).astype(np.float64)
        tp, fp, fn = c[..., 0], c[..., 1], c[..., 2]
        return 2.0 * tp, 2.0 * tp + fp + fn, tp + fn

    def _value(self, states):
        return _nanmean(self._per_sample(states), 0)

    def _per_sample(self, states):
        num, den, support = _stack(states, 0), _stack(states, 1), _stack(states, 2)
        if self.aggregation_level == "global":
            num, den, support = num.sum(0, keepdims=True), den.sum(0, keepdims=True), support.sum(0)
        if self.average == "micro":
            per_sample = _divide(num.sum(-1), den.sum(-1))
        else:
            dice = _divide(num, den)
            if self.average == "macro":
                per_sample = _nanmean(dice, -1)
            elif self.average == "weighted":
                weights = _divide(support, support.sum(-1, keepdims=True))
                per_sample = np.nansum(dice * weights, axis=-1)
                per_sample[np.isnan(dice).all(axis=-1)] = np.nan
            else:
                per_sample = dice
        return per_sample


def _nanmean(a, axis):
    """torch.nanmean: NaN where every entry is NaN (no warning)."""
    a = np.asarray(a, dtype=np.float64)
    keep = ~np.isnan(a)
    return _divide(np.where(keep, a, 0.0).sum(axis), keep.sum(axis))


class MeanIoU(_Metric):
    """torchmetrics.segmentation.MeanIoU: per (sample, kept class) |P∩G| / |P∪G|, averaged over the
    (sample, class) pairs whose union is not empty (per class with per_class, where a class never
    present gives -1). num_classes may be None for one-hot inputs."""

    def __init__(self, num_classes=None, include_background=True, per_class=False, input_format="one-hot", **kwargs):
        if input_format == "index" and num_classes is None:
            raise OptionError("Argument `num_classes` must be provided when `input_format` is 'index'.")
        self.per_class = per_class
        super().__init__(num_classes, include_background, input_format)

    def _state(self, preds, target):
        c = self._counts(preds, target).astype(np.float64)
        union = c[..., 0] + c[..., 1] + c[..., 2]
        valid = union > 0
        score = np.where(valid, _divide(c[..., 0], np.where(valid, union, 1.0)), 0.0)
        return score.sum(0), valid.sum(0)

    def _value(self, states):
        score = sum(s for s, _ in states)
        valid = sum(v for _, v in states)
        if self.per_class:
            out = _divide(score, valid)
            return np.where(np.isnan(out), -1.0, out)
        return _divide(score.sum(), valid.sum())


class HausdorffDistance(_Metric):
    """torchmetrics.segmentation.HausdorffDistance: per (sample, kept class) the maximum distance
    between the edge voxels of prediction and target (directed: prediction to target), in units of
    `spacing`; compute() is the mean over every (sample, class) pair."""

    def __init__(
        self,
        num_classes,
        include_background=False,
        distance_metric="euclidean",
        spacing=None,
        directed=False,
        input_format="one-hot",
        **kwargs,
    ):
        if distance_metric not in ("euclidean", "chessboard", "taxicab"):
            raise OptionError(
                f"distance_metric = {distance_metric!r} is not one of 'euclidean', 'chessboard', 'taxicab'"
            )
        self.distance_metric = distance_metric
        self.spacing = spacing
        self.directed = directed
        super().__init__(num_classes, include_background, input_format)

    def _distances(self, preds, target):
        pk, tk = self._kinds(preds, target)
        return metrics.surface_metric(
            np.asarray(preds),
            np.asarray(target),
            "hausdorff",
            num_classes=self._classes(preds, target),
            include_background=self.include_background,
            distance_metric=self.distance_metric,
            directed=self.directed,
            spacing=self.spacing,
            pred_kind=pk,
            gt_kind=tk,
        )

    def _state(self, preds, target):
        hd = self._distances(preds, target)
        return hd.sum(), hd.size

    def _value(self, states):
        return np.float64(sum(s for s, _ in states) / sum(n for _, n in states))


def dice_score(
    preds,
    target,
    num_classes,
    include_background=True,
    average="macro",
    input_format="one-hot",
    aggregation_level="samplewise",
):
    """torchmetrics.functional.segmentation.dice_score: DiceScore's value per sample, (B,), or
    (B, C_kept) with average "none" ((1, ...) with aggregation_level "global")."""
    m = DiceScore(num_classes, include_background, average, aggregation_level, input_format)
    return m._per_sample([m._state(preds, target)])


def mean_iou(preds, target, num_classes=None, include_background=True, per_class=False, input_format="one-hot"):
    """torchmetrics.functional.segmentation.mean_iou: per sample, the mean IoU over the kept classes
    whose union is not empty, (B,); with per_class the IoU of every class, (B, C_kept), -1 where the
    union is empty."""
    m = MeanIoU(num_classes, include_background, per_class, input_format)
    c = m._counts(preds, target).astype(np.float64)
    union = c[..., 0] + c[..., 1] + c[..., 2]
    iou = _divide(c[..., 0], union)
    if per_class:
        return np.where(np.isnan(iou), -1.0, iou)
    return _divide(np.nansum(iou, axis=-1), (union > 0).sum(axis=-1))


def hausdorff_distance(
    preds,
    target,
    num_classes,
    include_background=False,
    distance_metric="euclidean",
    spacing=None,
    directed=False,
    input_format="one-hot",
):
    """torchmetrics.functional.segmentation.hausdorff_distance: (B, C_kept) distances."""
    m = HausdorffDistance(num_classes, include_background, distance_metric, spacing, directed, input_format)
    return m._distances(preds, target)


_GDS_WEIGHTS = ("square", "simple", "linear")


def _gds_per_sample(counts, weight_type, per_class):
    """torchmetrics' Generalized Dice finalize of exact (B, C_kept, 4) counts: (B,) or (B, C_kept).

    w = 1/|G|^2, 1/|G| or 1 per (sample, class); an infinite weight (empty |G|) is replaced as
    torchmetrics' _generalized_dice_update does: the weights are flattened sample-major, the infinite
    ones set to 0, and flat entry k takes m[k // B], m the per-class maximum over the samples of the
    zeroed weights (torchmetrics reads its (C, B)-transposed table of those maxima with the
    (B, C) table's flat index). Then 2 tp w / ((2 tp + fp + fn) w), summed over the classes
    unless per_class, 0 where the denominator is 0."""
    c = counts.astype(np.float64)
    tp, card, g = c[..., 0], 2.0 * c[..., 0] + c[..., 1] + c[..., 2], c[..., 0] + c[..., 2]
    with np.errstate(divide="ignore"):
        w = {"square": 1.0 / (g * g), "simple": 1.0 / g, "linear": np.ones_like(g)}[weight_type]
    b = w.shape[0]
    flat = w.reshape(-1)
    inf = np.isinf(flat)
    flat[inf] = 0.0
    if inf.any():
        m = w.max(axis=0)
        flat[inf] = m[np.flatnonzero(inf) // b]
    num, den = 2.0 * tp * w, card * w
    if not per_class:
        num, den = num.sum(axis=1), den.sum(axis=1)
    return np.where(den != 0, _divide(num, np.where(den != 0, den, 1.0)), 0.0)


def generalized_dice_score(
    preds, target, num_classes, include_background=True, per_class=False, weight_type="square", input_format="one-hot"
):
    """torchmetrics.functional.segmentation.generalized_dice_score: the Generalized Dice score of
    every sample, (B,), or of every (sample, kept class) with per_class, (B, C_kept), float64
    (torchmetrics computes in float32). Counts come from the library's exact confusion kernel;
    the weights and the (B, C) ratios follow torchmetrics (see _gds_per_sample)."""
    if not isinstance(num_classes, int) or num_classes <= 0:
        raise OptionError(f"Expected argument `num_classes` must be a positive integer, but got {num_classes}.")
    if not isinstance(include_background, bool):
        raise OptionError(f"Expected argument `include_background` must be a boolean, but got {include_background}.")
    if not isinstance(per_class, bool):
        raise OptionError(f"Expected argument `per_class` must be a boolean, but got {per_class}.")
    if weight_type not in _GDS_WEIGHTS:
        raise OptionError(
            f"Expected argument `weight_type` to be one of 'square', 'simple', 'linear', but got {weight_type}."
        )
    if input_format not in _FORMATS:
        raise OptionError(
            f"Expected argument `input_format` to be one of 'one-hot', 'index', 'mixed', but got {input_format}."
        )
    onehot_ndim = max(np.ndim(preds), np.ndim(target)) + (1 if input_format == "index" else 0)
    if onehot_ndim < 3:
        raise NdimError(f"Expected both `preds` and `target` to have at least 3 dimensions, but got {onehot_ndim}.")
    m = GeneralizedDiceScore(num_classes, include_background, per_class, weight_type, input_format)
    return _gds_per_sample(m._counts(preds, target), weight_type, per_class)
