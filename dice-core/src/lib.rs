//! # dice-core
//!
//! Segmentation overlap losses (the Dice family) and their gradients, statistics first:
//!
//! 1. **reduce** ([`dice_stats`]): one pass over input and target, fused activation and target
//!    decoding, producing a few f64 sums per (batch item, class) — [`Stats`];
//! 2. **finalize** ([`dice_finalize`]): loss values and dL/dStats, closed form, no tensor data;
//! 3. **backward** ([`dice_backward`]): one pass writing the input gradient.
//!
//! [`dice_loss`] and [`dice_loss_grad`] chain them. Stats are additive, so data-parallel
//! workers and tiled volumes get exact results by summing them between steps 1 and 2.
//!
//! Semantics follow MONAI's `DiceLoss` (names and defaults in [`DiceOptions`]).
//! Layers: `api` (validate, plan) -> `engine` (blocks, threads, SIMD dispatch) -> `kernel`.

#![warn(missing_docs)]

mod api;
pub mod backend;
pub mod boundary_loss;
mod context;
mod engine;
pub mod error;
mod finalize;
pub mod float;
mod kernel;
pub mod limits;
pub mod metrics;
mod options;
mod plan;
// The scalar f64 oracle: public for the workspace's tests, benchmarks and fuzz targets, hidden
// from the documentation and outside the semver contract.
#[doc(hidden)]
pub mod reference;
pub mod schedule;
mod stats;
mod target;
pub mod tensor;

pub use api::{
    dice_backward, dice_backward_masked, dice_finalize, dice_loss, dice_loss_grad,
    dice_loss_grad_masked, dice_loss_masked, dice_pointwise_map, dice_stats, dice_stats_masked,
};
pub use backend::Backend;
pub use context::Context;
pub use error::{DiceError, Result};
pub use finalize::{Coefficients, Finalized};
pub use float::Float;
pub use options::{
    Activation, DenseIgnore, DiceOptions, FocalAlpha, GdlWeight, LossForm, Overlap, Pointwise,
    PointwiseKind, Reduction, WeightMode,
};
pub use schedule::{Ramp, RampKind};
pub use stats::{PointwiseSums, Stats, Sums};
pub use target::{Label, Labels, Target};
pub use tensor::{Layout, TensorView, TensorViewMut};
