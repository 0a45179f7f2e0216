"""Drop-in for DeepMind's surface-distance (`import surface_distance`): numpy in, numpy out.

compute_surface_distances(mask_gt, mask_pred, spacing_mm) returns DeepMind's dict (distances
sorted ascending with the areas of their surfels, both directions); the compute_* functions
derive the metrics from it with DeepMind's definitions and empty-mask conventions:
average distance and overlaps are NaN for an empty surface (0 / 0), the robust Hausdorff +inf
when either surface is empty, the surface Dice NaN when both are. Masks must be bool numpy
arrays (2-D or 3-D), as DeepMind requires. Definitions: docs/metrics.md.
"""

import numpy as np

from .. import metrics
from .._errors import DtypeError


def _check_bool(name, mask):
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise DtypeError(
            f"{name} must be a numpy array of dtype bool (as surface_distance requires), "
            f"got {type(mask).__name__}" + (f" of dtype {mask.dtype}" if isinstance(mask, np.ndarray) else "")
        )


def compute_surface_distances(mask_gt, mask_pred, spacing_mm):
    """Distances from every surface element of each mask to the other surface, sorted, with
    the surfel areas (2-D: contour lengths)."""
    _check_bool("mask_gt", mask_gt)
    _check_bool("mask_pred", mask_pred)
    return metrics.surface_distances(mask_gt, mask_pred, spacing_mm)


def compute_average_surface_distance(surface_distances):
    """(gt -> pred, pred -> gt) area-weighted mean distances."""
    a, b = metrics.surface_distance_metric(surface_distances, "average_surface_distance")
    return (float(a), float(b))


def compute_robust_hausdorff(surface_distances, percent):
    """Max over both directions of the area-weighted `percent` percentile distance."""
    return float(metrics.surface_distance_metric(surface_distances, "robust_hausdorff", percent)[0])


def compute_surface_overlap_at_tolerance(surface_distances, tolerance_mm):
    """(gt, pred) fraction of each surface's area within tolerance_mm of the other surface."""
    a, b = metrics.surface_distance_metric(surface_distances, "surface_overlap", tolerance_mm)
    return (float(a), float(b))


def compute_surface_dice_at_tolerance(surface_distances, tolerance_mm):
    """Surface Dice: area of both surfaces within tolerance_mm of the other / total area."""
    return float(metrics.surface_distance_metric(surface_distances, "surface_dice", tolerance_mm)[0])
