//! A series made ready for forecasting: loaded, split in time, season and lookback
//! resolved, scaled on the training rows; the windows the model trains on, and the
//! forecast origins at which the model and the baselines are evaluated.

use std::ops::Range;
use std::sync::Arc;

use burn::tensor::Device;
use recurrent_data::series::{
    Boundary, ForecastData, Scaler, ScalerConfig, SeriesOptions, SplitSpec, TimeSeries,
    WindowConfig, load_series,
};

use crate::baselines::{detect_season, naive_forecast, seasonal_naive_forecast};
use crate::error::{Result, TrainError};
use crate::metrics::ForecastScores;

use super::config::ForecastConfig;
use recurrent_zoo::models::{Forecaster, ForecasterConfig};

use super::model_config;
use super::shape::WindowShape;

/// The largest lag [`detect_season`] looks at: a third of the training rows, at most 400.
fn season_max_lag(train_rows: usize) -> usize {
    (train_rows / 3).min(400)
}

/// The default number of test rows for `n` rows and horizon `h`: `h · max(2, ⌈n / 10h⌉)`.
pub fn default_test_points(n: usize, horizon: usize) -> usize {
    horizon * 2usize.max(n.div_ceil(10 * horizon.max(1)))
}

/// The longest default lookback that two seasons give (two years of weekly data); a daily
/// series with a yearly season would otherwise read 730 steps per window.
pub const MAX_SEASON_LOOKBACK: usize = 104;

/// The default lookback for `season` and `horizon`:
/// `max(2 · horizon, min(2 · season, MAX_SEASON_LOOKBACK))`.
pub fn default_lookback(season: usize, horizon: usize) -> usize {
    (2 * horizon).max((2 * season).min(MAX_SEASON_LOOKBACK))
}

/// Forecast blocks over `rows` for horizon `horizon`: origins `rows.start`,
/// `rows.start + horizon`, …, each covering `min(horizon, rows.end − origin)` rows.
pub fn forecast_blocks(rows: Range<usize>, horizon: usize) -> Vec<(usize, usize)> {
    rows.clone()
        .step_by(horizon.max(1))
        .map(|o| (o, horizon.min(rows.end - o)))
        .collect()
}

/// A series ready for training and evaluating a forecaster.
///
/// # Splits
///
/// The last [`ForecastConfig::test_points`] rows are the test rows, the
/// [`ForecastConfig::valid_points`] rows before them the validation rows, the rest the
/// training rows. The scaler is fitted on the training rows only. Training windows
/// (`lookback` input rows, then `horizon` target rows, stride 1) lie inside the training
/// rows; validation windows have their targets in the validation rows and may take their
/// inputs from the rows before ([`Boundary::TargetsOnly`]: the past is known at forecast
/// time).
///
/// # How the test rows are forecast
///
/// The test rows `t0..n` are cut into consecutive blocks of `horizon` rows (the last one
/// shorter when `horizon` does not divide the test size): forecast origins
/// `o = t0, t0 + H, t0 + 2H, …`. From each origin the model forecasts rows
/// `o .. min(o + H, n)` from the `lookback` rows before `o` (actual values, which reach
/// back into the validation and training rows for the first block), and the baselines
/// forecast the same rows from the same history `y[..o]`:
///
/// - naive: `y[o − 1]` for every row of the block;
/// - seasonal naive: row `o + h − 1` (`h = 1..`) gets `y[o − m + (h − 1) mod m]`, the value
///   one season `m` earlier, repeating the last observed season beyond `m` steps.
///
/// Every test row is thus forecast exactly once, at a lead time of 1 to `H` steps, by the
/// model and by both baselines. The forecasts, concatenated in time order, are scored
/// against the actual test values with MAE, RMSE, sMAPE and MASE, the MASE scale being the
/// mean absolute lag-`m` difference of all rows before the test (training and validation).
///
/// The validation rows are forecast the same way (blocks from their first row) for the
/// `mase` validation metric.
#[derive(Debug, Clone)]
pub struct ForecastSetup {
    config: ForecastConfig,
    series: TimeSeries,
    target: Vec<f64>,
    scaled: Arc<[f32]>,
    data: ForecastData,
    season_detected: bool,
}

impl ForecastSetup {
    /// Loads [`ForecastConfig::data`] and prepares it per `config`.
    ///
    /// Errors: invalid settings; those of `load_series` (a missing file, an unknown
    /// column, an unparsable value, all at `FILE:LINE`); and those of
    /// [`ForecastSetup::from_series`].
    pub fn new(config: &ForecastConfig) -> Result<Self> {
        config.validate()?;
        let mut options = SeriesOptions::new(config.target.clone())
            .with_covariates(config.covariates.iter().cloned())
            .with_missing(config.missing);
        if let Some(column) = &config.date_column {
            options = options.with_date_column(column.clone());
        }
        let series = load_series(&config.data, &options)?;
        // One row per time step, in order: a date that repeats (a year column read as the
        // date of daily rows) or goes back is an error naming its line.
        series.check_increasing()?;
        Self::from_series(config, series)
    }

    /// Prepares `series` (target in column 0) per `config`, resolving the settings left
    /// `None`: the test and validation sizes, the season (detected on the training rows;
    /// 1 when there is none), the lookback and the log scaling.
    ///
    /// Errors: a series too short for the test and validation rows plus one training
    /// window ([`recurrent_data::DataError::NotEnoughData`] naming the sizes), too short
    /// before the test for the MASE scale of the season, or a scaler that cannot be
    /// fitted (a value ≤ −1 under `log`, at its `FILE:LINE`).
    pub fn from_series(config: &ForecastConfig, series: TimeSeries) -> Result<Self> {
        config.validate()?;
        let n = series.len();
        let horizon = config.horizon;
        let test = config
            .test_points
            .unwrap_or_else(|| default_test_points(n, horizon));
        let valid = config.valid_points.unwrap_or(test);
        let split = SplitSpec::Tail { valid, test };
        let [train_rows, _, _] = split.ranges(n)?;
        let target = series.target();
        let (season, season_detected) = match config.season {
            Some(s) => (s, false),
            None => (
                detect_season(
                    &target[train_rows.clone()],
                    season_max_lag(train_rows.len()),
                )
                .unwrap_or(1),
                true,
            ),
        };
        let lookback = config
            .lookback
            .unwrap_or_else(|| default_lookback(season, horizon));
        if train_rows.len() < lookback + horizon {
            return Err(TrainError::Data(recurrent_data::DataError::NotEnoughData(
                format!(
                    "{}: {n} rows leave {} training rows after {valid} validation and {test} test rows, but one training window needs lookback {lookback} + horizon {horizon} = {} rows; lower --lookback, --horizon or --test-size",
                    series.path().display(),
                    train_rows.len(),
                    lookback + horizon
                ),
            )));
        }
        if n - test <= season {
            return Err(TrainError::invalid(
                "season",
                format!(
                    "season {season} needs more than {season} rows before the test rows for the MASE scale; there are {}",
                    n - test
                ),
            ));
        }
        let log = config.log.unwrap_or_else(|| {
            let f = series.n_columns();
            series.values()[train_rows.start * f..train_rows.end * f]
                .iter()
                .all(|&v| v >= 0.0)
        });
        let scaling = ScalerConfig {
            kind: config.scaler,
            log,
        };
        let data = ForecastData::new(
            &series,
            &split,
            WindowConfig::new(lookback, horizon, 1),
            Boundary::TargetsOnly,
            Some(scaling),
        )?;
        let scaler = data
            .scaler
            .as_ref()
            .ok_or_else(|| TrainError::invalid("scaler", "the forecast data has no scaler"))?;
        let scaled: Arc<[f32]> = scaler
            .transform_series(&series)?
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let mut resolved = config.clone();
        resolved.test_points = Some(test);
        resolved.valid_points = Some(valid);
        resolved.season = Some(season);
        resolved.lookback = Some(lookback);
        resolved.log = Some(log);
        if valid == 0 {
            resolved.fit.early_stopping = None;
        }
        Ok(Self {
            config: resolved,
            series,
            target,
            scaled,
            data,
            season_detected,
        })
    }

    /// The settings with every `None` resolved (test and validation sizes, season,
    /// lookback), as they should be saved to repeat the run.
    pub fn config(&self) -> &ForecastConfig {
        &self.config
    }

    /// The loaded series.
    pub fn series(&self) -> &TimeSeries {
        &self.series
    }

    /// The target column in the data's units.
    pub fn target(&self) -> &[f64] {
        &self.target
    }

    /// The scaled values, row-major `[rows, features]`.
    pub fn scaled(&self) -> &[f32] {
        &self.scaled
    }

    /// The split, scaler and windows.
    pub fn data(&self) -> &ForecastData {
        &self.data
    }

    /// The scaler fitted on the training rows.
    pub fn scaler(&self) -> &Scaler {
        // from_series always builds a scaler.
        self.data
            .scaler
            .as_ref()
            .unwrap_or_else(|| unreachable!("ForecastSetup always has a scaler"))
    }

    /// The season length (given, detected, or 1).
    pub fn season(&self) -> usize {
        self.config.season.unwrap_or(1)
    }

    /// Whether the season was detected rather than given.
    pub fn season_detected(&self) -> bool {
        self.season_detected
    }

    /// The window shape of this setup.
    pub fn shape(&self) -> WindowShape {
        WindowShape {
            lookback: self.config.lookback.unwrap_or(1),
            horizon: self.config.horizon,
            features: self.series.n_columns(),
            mode: self.config.mode,
            normalize: self.config.normalize,
        }
    }

    /// The training rows.
    pub fn train_rows(&self) -> Range<usize> {
        self.data.windows.ranges[0].clone()
    }

    /// The validation rows.
    pub fn valid_rows(&self) -> Range<usize> {
        self.data.windows.ranges[1].clone()
    }

    /// The test rows (the chronological tail).
    pub fn test_rows(&self) -> Range<usize> {
        self.data.windows.ranges[2].clone()
    }

    /// The test forecast blocks `(origin, rows)`, see the type's documentation.
    pub fn test_blocks(&self) -> Vec<(usize, usize)> {
        forecast_blocks(self.test_rows(), self.config.horizon)
    }

    /// The actual target values of the test rows.
    pub fn test_actual(&self) -> Vec<f64> {
        self.target[self.test_rows()].to_vec()
    }

    /// The history that scales MASE: every row before the test.
    pub fn history(&self) -> &[f64] {
        &self.target[..self.test_rows().start]
    }

    /// The network of this setup: [`ForecastConfig::model`] with the input size of its
    /// windows and the read-out size of its mode.
    pub fn model_config(&self) -> ForecasterConfig {
        model_config(&self.config, self.series.n_columns())
            .expect("the setup's shape was checked when it was made")
    }

    /// A model of this setup's shape on `device`, its weights drawn from the device's
    /// seed.
    pub fn new_model(&self, device: &Device) -> Result<Forecaster> {
        Ok(self.model_config().try_init(device)?)
    }

    /// The naive forecast of the test rows, block by block (the last value before each
    /// origin).
    pub fn naive(&self) -> Result<Vec<f64>> {
        self.naive_rows(self.test_rows())
    }

    /// The seasonal naive forecast of the test rows, block by block.
    pub fn seasonal_naive(&self) -> Result<Vec<f64>> {
        self.seasonal_naive_rows(self.test_rows())
    }

    /// The naive forecast of `rows` (test or validation rows), block by block.
    pub fn naive_rows(&self, rows: Range<usize>) -> Result<Vec<f64>> {
        self.blockwise(rows, naive_forecast)
    }

    /// The seasonal naive forecast of `rows`, block by block.
    pub fn seasonal_naive_rows(&self, rows: Range<usize>) -> Result<Vec<f64>> {
        let season = self.season();
        self.blockwise(rows, |history, len| {
            seasonal_naive_forecast(history, season, len)
        })
    }

    fn blockwise(
        &self,
        rows: Range<usize>,
        method: impl Fn(&[f64], usize) -> Result<Vec<f64>>,
    ) -> Result<Vec<f64>> {
        self.check_rows(&rows)?;
        let mut out = Vec::with_capacity(rows.len());
        for (origin, len) in forecast_blocks(rows, self.config.horizon) {
            out.extend(method(&self.target[..origin], len)?);
        }
        Ok(out)
    }

    /// `rows` must end within the series and start after at least `lookback` rows.
    fn check_rows(&self, rows: &Range<usize>) -> Result<()> {
        let lookback = self.shape().lookback;
        if rows.end > self.target.len() || rows.start < lookback.max(1) {
            return Err(TrainError::invalid(
                "forecast rows",
                format!(
                    "rows {}..{} must lie within the {} rows, after the first {lookback}",
                    rows.start,
                    rows.end,
                    self.target.len()
                ),
            ));
        }
        Ok(())
    }

    /// The model's forecast of the test rows, block by block, in the data's units.
    pub fn model_forecast(&self, model: &Forecaster, device: &Device) -> Result<Vec<f64>> {
        self.model_forecast_rows(model, self.test_rows(), device)
    }

    /// The model's block forecast of `rows` (test or validation rows), in the data's
    /// units.
    pub fn model_forecast_rows(
        &self,
        model: &Forecaster,
        rows: Range<usize>,
        device: &Device,
    ) -> Result<Vec<f64>> {
        self.check_rows(&rows)?;
        let blocks = forecast_blocks(rows, self.config.horizon);
        let origins: Vec<usize> = blocks.iter().map(|b| b.0).collect();
        let forecasts =
            self.shape()
                .forecast(model, self.scaler(), &self.scaled, &origins, device)?;
        Ok(blocks
            .iter()
            .zip(forecasts)
            .flat_map(|(&(_, len), f)| f.into_iter().take(len))
            .collect())
    }

    /// MAE, RMSE, sMAPE and MASE of a forecast of the test rows (as long as the test).
    pub fn score(&self, forecast: &[f64]) -> Result<ForecastScores> {
        ForecastScores::compute(&self.test_actual(), forecast, self.history(), self.season())
    }

    /// The scores of a forecast of `rows` (as long as they are), MASE scaled by every row
    /// before them.
    pub fn score_rows(&self, rows: Range<usize>, forecast: &[f64]) -> Result<ForecastScores> {
        self.check_rows(&rows)?;
        ForecastScores::compute(
            &self.target[rows.clone()],
            forecast,
            &self.target[..rows.start],
            self.season(),
        )
    }
}
