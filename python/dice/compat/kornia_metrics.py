"""Drop-in for kornia.metrics.mean_iou (numpy in, numpy out), on the library's exact counts."""

import numpy as np

from .. import metrics
from .._errors import OptionError


def mean_iou(pred, target, num_classes, eps=1e-6):
    """kornia.metrics.mean_iou: the IoU of every class in every sample, (B, K) float64,
    (|P∩G| + eps) / (|P∪G| + eps) from (B, *) label maps with values in [0, K) (despite the name,
    nothing is averaged; a class absent from both maps scores 1)."""
    p, t = np.asarray(pred), np.asarray(target)
    if p.shape != t.shape:
        raise OptionError(f"Inputs pred and target must have the same shape. Got: {p.shape} and {t.shape}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise OptionError(f"The number of classes must be an integer of at least two. Got: {num_classes}")
    if p.ndim < 2:  # one spatial axis at least: (B, 1) when the samples are single labels
        p, t = p[:, None], t[:, None]
    counts = metrics.confusion(p, t, num_classes=num_classes, pred_kind="labels", gt_kind="labels").astype(np.float64)
    tp = counts[..., 0]
    return (tp + eps) / (tp + counts[..., 1] + counts[..., 2] + eps)
