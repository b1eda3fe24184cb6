//! Forecasting a column of a CSV time series with an RNN, LSTM or GRU, evaluated on the
//! chronological tail against the naive and seasonal naive baselines.
//!
//! - [`ForecastConfig`]: every setting (data, target, covariates, missing values,
//!   horizon, season, lookback, split sizes, cell, mode, scaler, the training loop).
//! - [`ForecastSetup`]: the series loaded, split in time, scaled on the training rows, cut
//!   into windows; the test forecast blocks and the baselines on exactly those rows (its
//!   documentation defines the evaluation protocol).
//! - [`ForecastModel`]: the recurrent layer and read-out, [`ForecastMode::Direct`] or
//!   [`ForecastMode::Autoregressive`] (scheduled sampling in training).
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
mod model;
mod setup;
mod shape;
mod train;

use burn::tensor::Device;
use recurrent_data::series::{Scaler, TimeSeries};

use crate::error::{Result, TrainError};

pub use config::{ForecastConfig, ForecastMode, WindowNorm};
pub use model::ForecastModel;
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

/// A model of the shape `config` (resolved, as saved by a run) describes for a series of
/// `features` columns, with the weights of `dict`.
pub fn load_model(
    config: &ForecastConfig,
    features: usize,
    dict: &recurrent_cells::StateDict,
    device: &Device,
) -> Result<ForecastModel> {
    let shape = WindowShape::of(config, features)?;
    ForecastModel::from_state_dict(
        config.cell,
        shape.input_features(),
        config.hidden,
        config.layers,
        ForecastModel::outputs(config.mode, config.horizon, features),
        dict,
        device,
    )
}

/// The next [`ForecastConfig::horizon`] values of the target after the last row of
/// `series`, in the data's units: the average of the forecasts of `models` (one, or an
/// ensemble's members) from the last `lookback` rows, scaled with the run's `scaler`.
///
/// Errors: no model; a series whose columns are not the scaler's, or with fewer than
/// `lookback` rows; a value the scaler cannot take (≤ −1 under `log`).
pub fn forecast_next(
    models: &[ForecastModel],
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
