//! Early stopping on a monitored value (validation loss, accuracy…), with Keras'
//! `EarlyStopping` semantics: an epoch improves when its value beats the best so far by
//! more than `min_delta`, and training stops once `patience` epochs in a row did not.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Whether smaller or larger values of the monitored quantity are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Smaller is better (losses, errors).
    Min,
    /// Larger is better (accuracy, F1).
    Max,
}

/// What [`EarlyStopping::update`] says about an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Decision {
    /// The value is the new best; a checkpoint of this epoch is the one to keep.
    Improved,
    /// No improvement, but patience is not used up yet.
    NoImprovement {
        /// Epochs in a row without improvement, this one included (1 or more).
        epochs_since: usize,
    },
    /// `patience` epochs in a row without improvement: stop training.
    Stop {
        /// The epoch of the best value; `None` when no epoch ever improved (every value
        /// was NaN).
        best_epoch: Option<usize>,
        /// The best value; `None` as for `best_epoch`.
        best: Option<f64>,
    },
}

/// Tracks the best value of a monitored quantity and decides when to stop.
///
/// The state serializes, so that it can be saved with a checkpoint and restored on resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs in a row without improvement that stop training.
    patience: usize,
    /// How much a value must beat the best by to count as an improvement.
    min_delta: f64,
    /// Whether smaller or larger is better.
    mode: Mode,
    /// The best epoch and value so far.
    best: Option<(usize, f64)>,
    /// Epochs in a row without improvement so far.
    epochs_since: usize,
}

impl EarlyStopping {
    /// Stops after `patience` epochs in a row without an improvement larger than
    /// `min_delta` (`patience = 0` stops at the first epoch that does not improve).
    ///
    /// Errors: [`TrainError::Invalid`] when `min_delta` is negative, NaN or infinite.
    pub fn new(patience: usize, min_delta: f64, mode: Mode) -> Result<Self> {
        if !(min_delta >= 0.0 && min_delta.is_finite()) {
            return Err(TrainError::invalid(
                "min_delta",
                format!("early stopping needs a finite min_delta of at least 0, got {min_delta}"),
            ));
        }
        Ok(Self {
            patience,
            min_delta,
            mode,
            best: None,
            epochs_since: 0,
        })
    }

    /// The patience.
    pub fn patience(&self) -> usize {
        self.patience
    }

    /// The minimum improvement.
    pub fn min_delta(&self) -> f64 {
        self.min_delta
    }

    /// Whether smaller or larger is better.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The best epoch and value so far, if any epoch improved.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }

    /// Epochs in a row without improvement so far.
    pub fn epochs_since(&self) -> usize {
        self.epochs_since
    }

    /// Whether `value` improves on the best so far. NaN never does; the first other value
    /// always does.
    pub fn is_improvement(&self, value: f64) -> bool {
        if value.is_nan() {
            return false;
        }
        match (self.best, self.mode) {
            (None, _) => true,
            (Some((_, best)), Mode::Min) => value < best - self.min_delta,
            (Some((_, best)), Mode::Max) => value > best + self.min_delta,
        }
    }

    /// Records the monitored `value` of `epoch` and says what to do. After a
    /// [`Decision::Stop`] further updates go on counting (each gives `Stop` again until an
    /// improvement).
    pub fn update(&mut self, epoch: usize, value: f64) -> Decision {
        if self.is_improvement(value) {
            self.best = Some((epoch, value));
            self.epochs_since = 0;
            return Decision::Improved;
        }
        self.epochs_since += 1;
        if self.epochs_since >= self.patience {
            Decision::Stop {
                best_epoch: self.best.map(|(epoch, _)| epoch),
                best: self.best.map(|(_, value)| value),
            }
        } else {
            Decision::NoImprovement {
                epochs_since: self.epochs_since,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_mode_with_patience_two() {
        let mut stop = EarlyStopping::new(2, 0.0, Mode::Min).unwrap();
        assert_eq!(stop.update(1, 1.0), Decision::Improved);
        assert_eq!(stop.update(2, 0.8), Decision::Improved);
        assert_eq!(
            stop.update(3, 0.9),
            Decision::NoImprovement { epochs_since: 1 }
        );
        // equal to the best is not an improvement
        assert_eq!(
            stop.update(4, 0.8),
            Decision::Stop {
                best_epoch: Some(2),
                best: Some(0.8)
            }
        );
    }

    #[test]
    fn min_delta_is_required_margin() {
        let mut stop = EarlyStopping::new(3, 0.1, Mode::Max).unwrap();
        assert_eq!(stop.update(0, 0.5), Decision::Improved);
        // 0.55 beats 0.5 by less than 0.1
        assert_eq!(
            stop.update(1, 0.55),
            Decision::NoImprovement { epochs_since: 1 }
        );
        // 0.65 beats 0.5 by 0.15 > 0.1; the counter resets
        assert_eq!(stop.update(2, 0.65), Decision::Improved);
        assert_eq!(stop.best(), Some((2, 0.65)));
        assert_eq!(stop.epochs_since(), 0);
    }

    #[test]
    fn nan_never_improves() {
        let mut stop = EarlyStopping::new(2, 0.0, Mode::Min).unwrap();
        assert_eq!(
            stop.update(0, f64::NAN),
            Decision::NoImprovement { epochs_since: 1 }
        );
        assert_eq!(
            stop.update(1, f64::NAN),
            Decision::Stop {
                best_epoch: None,
                best: None
            }
        );
        let mut stop = EarlyStopping::new(1, 0.0, Mode::Max).unwrap();
        assert_eq!(stop.update(0, 0.3), Decision::Improved);
        assert_eq!(
            stop.update(1, f64::NAN),
            Decision::Stop {
                best_epoch: Some(0),
                best: Some(0.3)
            }
        );
    }

    #[test]
    fn patience_zero_stops_at_first_non_improvement() {
        let mut stop = EarlyStopping::new(0, 0.0, Mode::Min).unwrap();
        assert_eq!(stop.update(0, 2.0), Decision::Improved);
        assert!(matches!(stop.update(1, 2.0), Decision::Stop { .. }));
    }

    #[test]
    fn bad_min_delta_is_an_error() {
        assert!(EarlyStopping::new(1, -0.1, Mode::Min).is_err());
        assert!(EarlyStopping::new(1, f64::NAN, Mode::Min).is_err());
        assert!(EarlyStopping::new(1, f64::INFINITY, Mode::Min).is_err());
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut stop = EarlyStopping::new(3, 0.01, Mode::Min).unwrap();
        stop.update(4, 0.5);
        stop.update(5, 0.6);
        let json = serde_json::to_string(&stop).unwrap();
        let restored: EarlyStopping = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, stop);
        assert_eq!(restored.epochs_since(), 1);
    }
}
