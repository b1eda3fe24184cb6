//! Progress of a training run: a bar per epoch on a terminal (indicatif), and a Keras-style
//! line per epoch (`Epoch 3/10 - 0.4s - loss: 0.6931 - val_loss: ...`) on standard output.
//!
//! When standard error is not a terminal (a log file, CI) no bar is drawn and only the
//! epoch lines appear, one per epoch.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::fit::{FitEvent, StopReason};
use crate::history::{keras_line, keras_value};

/// Shows [`FitEvent`]s: pass `|event| progress.observe(event)` as [`crate::fit::fit`]'s
/// observer.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    terminal: bool,
    epochs: usize,
    prefix: String,
    /// The last step seen and the steps of its epoch.
    step: (usize, usize),
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// A display that draws bars when standard error is a terminal.
    pub fn new() -> Self {
        Self {
            bar: None,
            terminal: std::io::stderr().is_terminal(),
            epochs: 0,
            prefix: String::new(),
            step: (0, 0),
        }
    }

    /// The same, with every line prefixed (e.g. `member 2: ` in an ensemble).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Shows one event.
    pub fn observe(&mut self, event: FitEvent<'_>) {
        match event {
            FitEvent::SkippedCheckpoint { epoch, reason } => {
                println!(
                    "{}skipping the checkpoint of epoch {epoch}: {reason}",
                    self.prefix
                );
            }
            FitEvent::Resumed { epoch } => {
                println!(
                    "{}resuming after the checkpoint of epoch {epoch}",
                    self.prefix
                );
            }
            FitEvent::EpochStart {
                epoch,
                epochs,
                steps,
            } => {
                self.epochs = epochs;
                if self.terminal {
                    let bar = ProgressBar::new(steps as u64);
                    let style = ProgressStyle::with_template(
                        "{prefix}Epoch {msg} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
                    bar.set_style(style);
                    bar.set_prefix(self.prefix.clone());
                    bar.set_message(format!("{epoch}/{epochs}"));
                    self.bar = Some(bar);
                }
            }
            FitEvent::Step {
                epoch,
                step,
                steps,
                loss,
            } => {
                self.step = (step, steps);
                if let Some(bar) = &self.bar {
                    bar.set_position(step as u64);
                    bar.set_message(format!(
                        "{epoch}/{} - loss: {}",
                        self.epochs,
                        keras_value(loss)
                    ));
                }
            }
            FitEvent::EpochEnd(record) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                println!(
                    "{}{}",
                    self.prefix,
                    keras_line(record.epoch, self.epochs.max(record.epoch), record)
                );
            }
            FitEvent::Stopped(reason) => match reason {
                StopReason::Completed => {}
                StopReason::EarlyStopped { epoch } => println!(
                    "{}early stopping: no improvement, stopped after epoch {epoch}",
                    self.prefix
                ),
                StopReason::TimeLimit { epoch } => println!(
                    "{}time limit reached in epoch {epoch} after {} of its {} steps; training stops here",
                    self.prefix, self.step.0, self.step.1
                ),
            },
        }
    }
}
