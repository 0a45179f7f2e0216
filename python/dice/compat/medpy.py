"""Drop-in for medpy.metric.binary's surface distances: hd, hd95, asd, assd (numpy in, floats out).

medpy's definitions: distances between border voxels (the mask minus its erosion, connectivity
1) in `voxelspacing` units; hd95 is the 95th percentile of the POOLED distances of both
directions; asd is directed (result -> reference); assd the mean of both directed ASDs. An empty
mask raises dice.EmptyMaskError (a RuntimeError, as medpy raises).
"""

import numpy as np

from .. import metrics
from .._errors import OptionError

_INDEX = {"hd": 0, "hd95": 1, "asd": 2, "assd": 3}


def _medpy(result, reference, voxelspacing, connectivity, which):
    if connectivity != 1:
        raise OptionError(f"connectivity = {connectivity!r}: only medpy's default 1 is implemented")
    r = np.asarray(result).astype(bool)[None, None]
    g = np.asarray(reference).astype(bool)[None, None]
    out = metrics.surface_metric(
        r, g, "medpy", include_background=True, spacing=voxelspacing, pred_kind="masks", gt_kind="masks"
    )
    return float(out[0, 0, _INDEX[which]])


def hd(result, reference, voxelspacing=None, connectivity=1):
    """Hausdorff distance (maximum of both directed distances)."""
    return _medpy(result, reference, voxelspacing, connectivity, "hd")


def hd95(result, reference, voxelspacing=None, connectivity=1):
    """95th percentile of the pooled border distances of both directions."""
    return _medpy(result, reference, voxelspacing, connectivity, "hd95")


def asd(result, reference, voxelspacing=None, connectivity=1):
    """Average surface distance from result's border to reference's border."""
    return _medpy(result, reference, voxelspacing, connectivity, "asd")


def assd(result, reference, voxelspacing=None, connectivity=1):
    """Mean of asd(result, reference) and asd(reference, result)."""
    return _medpy(result, reference, voxelspacing, connectivity, "assd")
