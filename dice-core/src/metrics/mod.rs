//! Segmentation metrics on hard decisions.
//!
//! - [`decisions`]: label maps, masks, or probabilities decided by argmax / threshold;
//! - [`confusion`]: exact, additive TP/FP/FN/TN counts per (item, class);
//! - [`overlap`]: Dice, IoU, precision, recall, ... with the empty ground-truth policy, MONAI's
//!   reductions, and torchmetrics' Generalised Dice score;
//! - [`edt`]: exact separable distance transforms with spacing, and the signed distance map;
//! - [`distances`]: Hausdorff / percentile Hausdorff / average surface distance / surface Dice
//!   (MONAI, medpy conventions) and the boundary F-score, from edge voxels ([`surface`]);
//! - [`deepmind`]: DeepMind surface-distance (surfel areas from neighbour codes, [`surfels`]);
//! - [`subvoxel`]: MONAI's surface Dice with `use_subvoxels=True` (surfel areas within tolerance).
//!
//! Definitions and conventions: docs/metrics.md.

mod band;
pub mod confusion;
pub mod decisions;
pub mod deepmind;
pub mod distances;
pub mod edt;
pub mod overlap;
pub mod subvoxel;
mod surface;
mod surfels;

pub use confusion::{Confusion, Counts, confusion};
pub use decisions::{Decisions, Grid, Rule, pair_grid};
pub use deepmind::{SurfaceDistances, surface_distances, surfel_counts};
pub use distances::{
    BoundaryF, EdgeDistances, EdgeTable, Medpy, MonaiDistances, SurfaceOptions, Within,
    average_surface_distance_monai, boundary_f, default_boundary_tolerance, edge_distances,
    hausdorff_monai, medpy_distances, monai_distances, percentile, surface_dice_monai,
    within_counts,
};
pub use edt::{DistanceMetric, distance_transform, signed_distance};
pub use overlap::{
    Aggregate, EmptyGt, GdsWeight, MetricReduction, OverlapMetric, PerItem, generalized_dice_score,
    overlap_values, reduce,
};
pub use subvoxel::{SubvoxelAreas, subvoxel_areas, surface_dice_subvoxels_monai};
pub use surfels::{contour_lengths_2d, surfel_areas_3d};
