//! `dice`: segmentation metrics and losses of dice-core from the command line.
//!
//! Layers: `args` (parsing) -> `plan` (cases) -> `evaluate` (one case on the library) ->
//! `summary` / `report` / `atomic` (outputs); `eval`, `loss` and `demo` are the commands.
//!
//! Exit status: 0 when every case was scored, 1 when any case failed (the others are still
//! reported and written), 2 for a usage error or a failure before any case ran.

mod args;
mod atomic;
mod demo;
mod eval;
mod evaluate;
mod loss;
mod metric;
mod plan;
mod progress;
mod report;
mod summary;
mod volume;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match &cli.command {
        args::Command::Eval(a) => eval::run(a).map(|o| o.failed == 0),
        args::Command::Demo(a) => demo::run(a).map(|o| o.failed == 0),
        args::Command::Loss(a) => loss::run(a).map(|_| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
