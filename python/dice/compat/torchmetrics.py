"""Drop-in for torchmetrics.segmentation.GeneralizedDiceScore (numpy in, numpy out).

    m = GeneralizedDiceScore(num_classes=3)
    batch_value = m(preds, target)      # forward: this batch's score
    m.update(preds, target); m.compute()  # the mean of per-sample scores over every update

input_format "one-hot": (B, C, spatial...) arrays, binary of any integer dtype or bool, or float
scores (their argmax over C is taken, as torchmetrics does); "index": (B, spatial...) class indices
of any integer dtype; "mixed": each side either (the one with the channel axis is one-hot).
"""

import numpy as np

from .. import metrics
from .._errors import OptionError


class GeneralizedDiceScore:
    """Per sample: 2 sum_c w_c |P_c ∩ G_c| / sum_c w_c (|P_c| + |G_c|), w_c = 1/|G_c|^2 (square),
    1/|G_c| (simple) or 1 (linear); the score is the mean over samples (per class with per_class)."""

    def __init__(self, num_classes, include_background=True, per_class=False, weight_type="square",
                 input_format="one-hot", **kwargs):
        if input_format not in ("one-hot", "index", "mixed"):
            raise OptionError(f"input_format = {input_format!r} is not one of 'one-hot', 'index', 'mixed'")
        metrics.generalized_dice_score(np.zeros((1, 1, 4), np.uint64), weight_type=weight_type)  # validates
        self.num_classes = int(num_classes)
        self.include_background = include_background
        self.per_class = per_class
        self.weight_type = weight_type
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
        return tuple(("argmax" if np.asarray(a).dtype.kind == "f" else "masks") if o else "labels"
                     for a, o in zip((preds, target), onehot))

    def _batch(self, preds, target):
        pk, tk = self._kinds(preds, target)
        counts = metrics.confusion(np.asarray(preds), np.asarray(target), num_classes=self.num_classes,
                                   pred_kind=pk, gt_kind=tk)
        score = metrics.generalized_dice_score(counts, include_background=self.include_background,
                                               weight_type=self.weight_type, per_class=self.per_class)
        # torchmetrics squeezes: one kept class with per_class gives a 0-d value
        return np.asarray(score, dtype=np.float64).squeeze(), counts.shape[0]

    def update(self, preds, target):
        score, n = self._batch(preds, target)
        self._sum = self._sum + score * n
        self._samples += n

    def compute(self):
        if not self._samples:
            raise ValueError("compute() before any update()")
        return self._sum / self._samples

    def forward(self, preds, target):
        score, n = self._batch(preds, target)
        self._sum = self._sum + score * n
        self._samples += n
        return score

    __call__ = forward

    def reset(self):
        self._sum = np.float64(0.0)
        self._samples = 0
