//! Forecasting a column of a CSV time series with an RNN, LSTM or GRU, evaluated on the
//! chronological tail against the naive and seasonal naive baselines.
//!
//! - [`ForecastConfig`]: every setting (data, target, covariates, missing values,
//!   horizon, season, lookback, split sizes, cell, mode, scaler, the training loop).
//! - [`ForecastSetup`]: the series loaded, split in time, scaled on the training rows, cut
//!   into windows; the test forecast blocks and the baselines on exactly those rows (its
//!   documentation defines the evaluation protocol).
//! - The network is the zoo's [`Forecaster`] ([`ForecastConfig::model`]), used
//!   [`ForecastMode::Direct`] or [`ForecastMode::Autoregressive`] (scheduled sampling in
//!   training); [`load_run`] reads a finished run back.
//! - [`ForecastSetup::train`]: one model through [`crate::fit::fit`] (Adam, MSE on scaled
//!   values, early stopping on the validation loss with the best weights restored), its
//!   test forecast and scores ([`ForecastMember`]). An ensemble trains several with
//!   different seeds and averages their forecasts ([`average`]).
//! - [`forecast_next`]: the next `horizon` values after a series, from saved models.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use recurrent_train::forecast::{ForecastConfig, ForecastSetup};
//!
//! # fn main() -> recurrent_train::Result<()> {
//! let mut config = ForecastConfig::new("data/ts_airline_passengers.csv", "Passengers");
//! config.season = Some(12);
//! let setup = ForecastSetup::new(&config)?;
//! let member = setup.train(42, &Device::flex(), None, false, |_| {})?;
//! let naive = setup.score(&setup.seasonal_naive()?)?;
//! println!("MASE {:.3} (seasonal naive {:.3})", member.scores.mase, naive.mase);
//! # Ok(())
//! # }
//! ```

mod config;
mod setup;
mod shape;
mod train;

use std::path::Path;

use burn::tensor::Device;
use recurrent_data::series::{Scaler, TimeSeries};
use recurrent_zoo::models::{Forecaster, ForecasterConfig};

use crate::error::{Result, TrainError};
use crate::run_config::{CONFIG_FILE, SavedRun};
use crate::run_dir::RunDir;
use crate::weights::load_weights;

/// The weights file of a forecaster (in the run directory, or in each ensemble member's).
pub const MODEL_FILE: &str = "model.safetensors";
/// The scaler of a forecast run.
pub const SCALER_FILE: &str = "scaler.json";

pub use config::{ForecastConfig, ForecastMode, WindowNorm};
pub use setup::{
    ForecastSetup, MAX_SEASON_LOOKBACK, default_lookback, default_test_points, forecast_blocks,
};
pub use shape::WindowShape;
pub use train::ForecastMember;

/// The element-wise mean of equally long forecasts (an ensemble's forecast).
///
/// Errors: [`TrainError::Empty`] without forecasts, [`TrainError::LengthMismatch`] when
/// their lengths differ.
pub fn average(forecasts: &[Vec<f64>]) -> Result<Vec<f64>> {
    let first = forecasts.first().ok_or(TrainError::Empty {
        what: "ensemble forecasts",
    })?;
    let mut sum = vec![0.0; first.len()];
    for f in forecasts {
        if f.len() != sum.len() {
            return Err(TrainError::LengthMismatch {
                what: "ensemble forecasts",
                left: sum.len(),
                right: f.len(),
            });
        }
        for (s, v) in sum.iter_mut().zip(f) {
            *s += v;
        }
    }
    let n = forecasts.len() as f64;
    Ok(sum.into_iter().map(|s| s / n).collect())
}

/// The network `config` (resolved, as saved by a run) describes for a series of
/// `features` columns: [`ForecastConfig::model`] with the input size of its windows and the
/// read-out size of its mode.
pub fn model_config(config: &ForecastConfig, features: usize) -> Result<ForecasterConfig> {
    let shape = WindowShape::of(config, features)?;
    Ok(ForecasterConfig {
        d_input: shape.input_features(),
        n_outputs: config.mode.outputs(config.horizon, features),
        ..config.model.clone()
    })
}

/// A finished forecast run read back: its settings, scaler and models (every member of an
/// ensemble), for a series of `features` columns.
#[derive(Debug)]
pub struct ForecastRunFiles {
    /// The run's settings (resolved).
    pub config: ForecastConfig,
    /// The scaler fitted on its training rows.
    pub scaler: Scaler,
    /// The model, or the ensemble's members.
    pub models: Vec<Forecaster>,
}

/// Reads the forecast run in `dir` (`config.toml`, `scaler.json`, `model.safetensors` or
/// every member's) onto `device`, for a series of `features` columns.
///
/// Errors name the file: missing, unreadable, not a forecast run, or weights that do not
/// fit.
pub fn load_run(dir: &Path, features: usize, device: &Device) -> Result<ForecastRunFiles> {
    let config: ForecastConfig = SavedRun::read(&dir.join(CONFIG_FILE))?.settings_of("forecast")?;
    let scaler = Scaler::load(dir.join(SCALER_FILE))?;
    let model = model_config(&config, features)?;
    let models = RunDir::open(dir)?
        .model_files(config.ensemble, MODEL_FILE)
        .iter()
        .map(|path| load_weights(model.try_init(device)?, path))
        .collect::<Result<Vec<_>>>()?;
    Ok(ForecastRunFiles {
        config,
        scaler,
        models,
    })
}

/// The next [`ForecastConfig::horizon`] values of the target after the last row of
/// `series`, in the data's units: the average of the forecasts of `models` (one, or an
/// ensemble's members) from the last `lookback` rows, scaled with the run's `scaler`.
///
/// Errors: no model; a series whose columns are not the scaler's, or with fewer than
/// `lookback` rows; a value the scaler cannot take (≤ −1 under `log`).
pub fn forecast_next(
    models: &[Forecaster],
    config: &ForecastConfig,
    scaler: &Scaler,
    series: &TimeSeries,
    device: &Device,
) -> Result<Vec<f64>> {
    let shape = WindowShape::of(config, series.n_columns())?;
    if series.len() < shape.lookback {
        return Err(TrainError::invalid(
            "series",
            format!(
                "{}: {} rows, but the model reads the last {} (its lookback)",
                series.path().display(),
                series.len(),
                shape.lookback
            ),
        ));
    }
    let scaled: Vec<f32> = scaler
        .transform_series(series)?
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let mut forecasts = Vec::with_capacity(models.len());
    for model in models {
        let mut f = shape.forecast(model, scaler, &scaled, &[series.len()], device)?;
        forecasts.push(f.pop().unwrap_or_default());
    }
    average(&forecasts)
}
