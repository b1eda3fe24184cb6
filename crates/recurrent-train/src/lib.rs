//! Training for the models of [`recurrent_zoo`] on any burn backend: the shared loop, the
//! task pipelines, and the metrics, baselines, run directories and ensembles around them.
//! The networks themselves live in the zoo; this crate feeds them data and trains them.
//!
//! - [`metrics`]: forecast scores (MAE, RMSE, sMAPE, MASE in [`ForecastScores`]) and
//!   classification scores (masked accuracy, binary accuracy, a [`ConfusionMatrix`],
//!   macro F1, conlleval entity F1 of BIO tags).
//! - [`baselines`]: naive and seasonal naive forecasts and [`detect_season`].
//! - [`early_stopping`]: [`EarlyStopping`] with Keras' semantics.
//! - [`history`]: per-epoch [`EpochRecord`]s, a [`History`] written as CSV, and
//!   Keras-style progress lines ([`keras_line`]).
//! - [`guard`]: [`check_finite`] stops on a NaN or infinite loss, naming epoch and step.
//! - [`fit`](mod@fit): the training loop every task shares ([`fit()`], a [`FitTask`]), with
//!   schedules, early stopping, scheduled sampling, checkpoints and resume.
//! - [`progress`]: a progress bar on a terminal, Keras-style epoch lines otherwise.
//! - [`plot`]: PNG loss curves and line plots.
//! - Tasks: [`tutorial`] (the Keras tutorial program), [`char_lm`] (character-level
//!   language model with sampling and beam search), [`forecast`] (time-series forecaster
//!   against naive and seasonal-naive baselines), [`tagger`] (sequence tagger with
//!   character features). Each task's settings embed the zoo's model configuration next to
//!   its data and training settings, and each reads a finished run back (`load_run`).
//! - [`run_dir`]: the layout of a run directory and crash-safe checkpoint markers
//!   ([`RunDir`]); [`run_config`]: its `config.toml`; [`ensemble`]: the member loop;
//!   [`weights`]: weights files.
//!
//! Errors are [`TrainError`]s; user-supplied values (empty inputs, zero denominators,
//! out-of-range ids) give errors or documented results, never a panic.
//!
//! ```
//! use std::collections::BTreeMap;
//! use recurrent_train::{Decision, EarlyStopping, EpochRecord, Mode, keras_line, smape};
//!
//! # fn main() -> recurrent_train::Result<()> {
//! // |F−A| = 10 on A = 100, F = 110: 2·10/210 → 9.5238 %
//! assert!((smape(&[100.0], &[110.0])? - 2000.0 / 210.0).abs() < 1e-12);
//!
//! let mut stopping = EarlyStopping::new(1, 0.0, Mode::Min)?;
//! assert_eq!(stopping.update(1, 0.7), Decision::Improved);
//!
//! let record = EpochRecord {
//!     epoch: 1,
//!     seconds: 0.42,
//!     train: BTreeMap::from([("loss".to_owned(), 0.5)]),
//!     valid: BTreeMap::from([("loss".to_owned(), 0.7)]),
//! };
//! assert_eq!(keras_line(1, 5, &record), "Epoch 1/5 - 0.4s - loss: 0.5000 - val_loss: 0.7000");
//! # Ok(())
//! # }
//! ```

pub mod baselines;
pub mod bench;
pub mod char_lm;
pub mod compare;
pub mod early_stopping;
pub mod ensemble;
pub mod error;
pub mod fit;
pub mod forecast;
pub mod guard;
pub mod history;
pub mod metrics;
pub mod optimizer;
pub mod plot;
pub mod progress;
pub mod run_config;
pub mod run_dir;
pub mod seq2seq;
pub mod tagger;
pub mod tutorial;
pub mod weights;

pub use baselines::{detect_season, naive_forecast, seasonal_naive_forecast};
pub use early_stopping::{Decision, EarlyStopping, Mode};
pub use error::{Result, TrainError};
pub use fit::{
    EarlyStoppingConfig, FitConfig, FitEvent, FitTask, Fitted, Schedule, StepContext, StepOutput,
    StopReason, TeacherForcing, fit,
};
pub use guard::check_finite;
pub use history::{EpochRecord, History, keras_line};
pub use metrics::{
    ConfusionMatrix, ForecastScores, PrfScores, accuracy, binary_accuracy, entity_f1, macro_f1,
    mae, mase, rmse, smape,
};
pub use optimizer::{Clipping, OptimizerKind, build_optimizer};
pub use progress::Progress;
pub use run_config::{SavedRun, write_config};
pub use run_dir::RunDir;
pub use tutorial::{TutorialConfig, train_tutorial};
