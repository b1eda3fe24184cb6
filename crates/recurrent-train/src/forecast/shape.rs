//! The windows a forecaster reads and writes: [`WindowShape`] builds the model inputs
//! from scaled rows (normalised per [`WindowNorm`]) and maps the model's outputs back to
//! the data's units.

use burn::tensor::{Device, Tensor, TensorData};
use recurrent_data::series::Scaler;

use crate::error::{Result, TrainError};

use super::config::{ForecastConfig, ForecastMode, WindowNorm};
use recurrent_zoo::models::Forecaster;

/// The shape of the windows a model reads and writes, and how they are normalised: what a
/// saved model needs besides its weights and scaler to forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowShape {
    /// Input rows per window.
    pub lookback: usize,
    /// Target steps forecast from each origin.
    pub horizon: usize,
    /// Columns per row (target and covariates).
    pub features: usize,
    /// Direct or autoregressive.
    pub mode: ForecastMode,
    /// Window normalisation.
    pub normalize: WindowNorm,
}

impl WindowShape {
    /// The shape of a resolved `config` (its `lookback` set) over `features` columns; an
    /// unresolved lookback is an error.
    pub fn of(config: &ForecastConfig, features: usize) -> Result<Self> {
        let lookback = config.lookback.ok_or_else(|| {
            TrainError::invalid(
                "forecast settings",
                "the lookback is not set (settings written by a run always have it)",
            )
        })?;
        Ok(Self {
            lookback,
            horizon: config.horizon,
            features,
            mode: config.mode,
            normalize: config.normalize,
        })
    }

    /// Input columns per step: the series' columns, and the level column of
    /// [`WindowNorm::LastLevel`].
    pub fn input_features(&self) -> usize {
        self.features + usize::from(self.normalize == WindowNorm::LastLevel)
    }

    /// Builds the model input of the windows whose forecast origin (first forecast row) is
    /// each of `origins`, from the scaled row-major `scaled` (`[rows, features]`):
    /// `[origins, lookback, input_features]` values (normalised per [`WindowNorm`]) and
    /// the `[origins, features]` values subtracted (the last input row, or zeros).
    fn inputs(&self, scaled: &[f32], origins: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let (l, f) = (self.lookback, self.features);
        let level = self.normalize == WindowNorm::LastLevel;
        let mut input = Vec::with_capacity(origins.len() * l * self.input_features());
        let mut base = Vec::with_capacity(origins.len() * f);
        for &o in origins {
            let last = &scaled[(o - 1) * f..o * f];
            let b: Vec<f32> = match self.normalize {
                WindowNorm::None => vec![0.0; f],
                WindowNorm::Last | WindowNorm::LastLevel => last.to_vec(),
            };
            for row in scaled[(o - l) * f..o * f].chunks_exact(f) {
                input.extend(row.iter().zip(&b).map(|(x, b)| x - b));
                if level {
                    input.push(row[0]);
                }
            }
            base.extend(b);
        }
        (input, base)
    }

    /// The level base of [`WindowNorm::LastLevel`] for an autoregressive roll-out: the
    /// subtracted target value of each window, `[origins, 1, 1]`; `None` otherwise.
    pub(crate) fn level_base(&self, base: &[f32], device: &Device) -> Option<Tensor<3>> {
        (self.normalize == WindowNorm::LastLevel).then(|| {
            let b: Vec<f32> = base.iter().step_by(self.features).copied().collect();
            let n = b.len();
            Tensor::from_data(TensorData::new(b, [n, 1, 1]), device)
        })
    }

    /// The next `horizon` rows after each origin, `[origins, horizon, features]`, minus the
    /// same base as [`WindowShape::inputs`].
    fn futures(&self, scaled: &[f32], origins: &[usize], base: &[f32]) -> Vec<f32> {
        let (h, f) = (self.horizon, self.features);
        let mut out = Vec::with_capacity(origins.len() * h * f);
        for (k, &o) in origins.iter().enumerate() {
            let b = &base[k * f..(k + 1) * f];
            for row in scaled[o * f..(o + h) * f].chunks_exact(f) {
                out.extend(row.iter().zip(b).map(|(x, b)| x - b));
            }
        }
        out
    }

    /// The model input of `origins` as a tensor `[origins, lookback, input_features]` on
    /// `device`, and the bases.
    pub(crate) fn input_tensor(
        &self,
        scaled: &[f32],
        origins: &[usize],
        device: &Device,
    ) -> (Tensor<3>, Vec<f32>) {
        let (input, base) = self.inputs(scaled, origins);
        let x = Tensor::from_data(
            TensorData::new(input, [origins.len(), self.lookback, self.input_features()]),
            device,
        );
        (x, base)
    }

    /// Inputs `[origins, lookback, input_features]`, normalised targets
    /// `[origins, horizon, features]` and the level base (see
    /// [`WindowShape::level_base`]) of training or validation windows.
    pub(crate) fn window_tensors(
        &self,
        scaled: &[f32],
        origins: &[usize],
        device: &Device,
    ) -> (Tensor<3>, Tensor<3>, Option<Tensor<3>>) {
        let (x, base) = self.input_tensor(scaled, origins, device);
        let y = self.futures(scaled, origins, &base);
        let y = Tensor::from_data(
            TensorData::new(y, [origins.len(), self.horizon, self.features]),
            device,
        );
        (x, y, self.level_base(&base, device))
    }

    /// The model's target forecasts from each of `origins` in the data's units:
    /// `origins.len()` vectors of `horizon` values. `scaled` holds the scaled rows
    /// (`[rows, features]`); each origin needs `lookback` rows before it.
    pub fn forecast(
        &self,
        model: &Forecaster,
        scaler: &Scaler,
        scaled: &[f32],
        origins: &[usize],
        device: &Device,
    ) -> Result<Vec<Vec<f64>>> {
        let rows = scaled.len() / self.features.max(1);
        if let Some(&bad) = origins.iter().find(|&&o| o < self.lookback || o > rows) {
            return Err(TrainError::invalid(
                "forecast origin",
                format!(
                    "row {bad} needs {} rows of history before it within {rows} rows",
                    self.lookback
                ),
            ));
        }
        let mut all = Vec::with_capacity(origins.len());
        for chunk in origins.chunks(256) {
            let (x, base) = self.input_tensor(scaled, chunk, device);
            let level = self.level_base(&base, device);
            let b = chunk.len();
            let y = match self.mode {
                ForecastMode::Direct => model.forward_direct(x),
                ForecastMode::Autoregressive => model
                    .forward_autoregressive(x, self.horizon, None, false, level)?
                    .narrow(2, 0, 1)
                    .reshape([b, self.horizon]),
            };
            let y = y
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| TrainError::invalid("forecast", format!("{e:?}")))?;
            for (k, values) in y.chunks_exact(self.horizon).enumerate() {
                let b = base[k * self.features];
                let values: Vec<f64> = values.iter().map(|&v| f64::from(v + b)).collect();
                all.push(scaler.inverse_transform(0, &values)?);
            }
        }
        Ok(all)
    }
}
