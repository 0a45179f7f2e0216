//! Progress on stderr: a bar when stderr is a terminal, one plain line per case otherwise,
//! nothing with --quiet.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: usize,
    done: AtomicUsize,
}

impl Progress {
    pub fn new(total: usize, quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} cases {elapsed_precise} (eta {eta}) {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar, plain: !quiet && !terminal, total, done: AtomicUsize::new(0) }
    }

    /// Reports a finished case: `error` is None on success.
    pub fn case_done(&self, id: &str, error: Option<&str>) {
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(bar) = &self.bar {
            if let Some(e) = error {
                bar.println(format!("{id}: FAILED: {e}"));
            }
            bar.set_message(id.to_owned());
            bar.inc(1);
        } else if self.plain {
            match error {
                None => eprintln!("[{n}/{}] {id}: ok", self.total),
                Some(e) => eprintln!("[{n}/{}] {id}: FAILED: {e}", self.total),
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
