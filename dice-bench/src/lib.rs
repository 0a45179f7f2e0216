//! # dice-bench
//!
//! The benchmark matrix shared by the criterion benches and the `dice-report` binary, and the
//! pieces of the report: streaming bandwidth, timing, peak memory, the byte model, JSON and the
//! CI regression gate.
//!
//! Every case is a row of tables (loss x shape x layout x label type x pass x threads): a new
//! loss is one line in [`cases::LOSSES`].

pub mod bandwidth;
pub mod cases;
pub mod gate;
pub mod memory;
pub mod report;
pub mod timing;
