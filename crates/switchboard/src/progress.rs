//! Progress bars on a terminal (indicatif), silent otherwise, so logs and pipes stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sb_classify::TrainEvent;
use std::io::IsTerminal;

pub fn bar(total: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(ProgressStyle::with_template("{msg:30} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta})").expect("static template"));
    bar.set_message(message.to_string());
    bar
}

/// A spinner fed by training events: stage names and optimiser iterations.
pub struct TrainProgress {
    spinner: ProgressBar,
}

impl TrainProgress {
    pub fn new() -> TrainProgress {
        let spinner = ProgressBar::new_spinner();
        if !std::io::stderr().is_terminal() {
            spinner.set_draw_target(ProgressDrawTarget::hidden());
        }
        spinner.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("static template"));
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        TrainProgress { spinner }
    }

    pub fn event(&self, event: TrainEvent) {
        match event {
            TrainEvent::Stage { description, step, n_steps } => {
                self.spinner.set_message(format!("training step {step}/{n_steps}: {description}"));
                if !std::io::stderr().is_terminal() {
                    eprintln!("training step {step}/{n_steps}: {description}");
                }
            }
            TrainEvent::Iteration { iteration, objective } => {
                if iteration % 10 == 0 {
                    let message = self.spinner.message();
                    let stage = message.split(" — ").next().unwrap_or_default().to_string();
                    self.spinner.set_message(format!("{stage} — iteration {iteration}, loss {objective:.4}"));
                }
            }
        }
    }

    pub fn finish(&self) {
        self.spinner.finish_and_clear();
    }
}
