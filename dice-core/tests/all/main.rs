//! The integration tests of dice-core, one module per area, built as one test binary: every
//! module instantiates the engine's generic kernels, and one crate compiles them once.
//! Run one area with a filter, e.g. `cargo test -p dice-core --test all -- loss_family::`.

mod common;
mod errors;
mod failure_modes;
mod family_properties;
mod float_functions;
mod loss_family;
mod loss_mask;
mod metrics_boundary_loss;
mod metrics_confusion;
mod metrics_deepmind;
mod metrics_edt;
mod metrics_hardening;
mod metrics_reference;
mod metrics_subvoxel;
mod metrics_surface;
mod miri_smoke;
mod pointwise_map;
mod properties;
mod reference_cases;
mod schedule;
