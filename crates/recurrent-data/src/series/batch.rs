//! Forecasting windows as a burn [`Dataset`] and their [`Batcher`], and
//! [`ForecastData`], which does split, scaling and windowing in one go.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{DataError, Result};
use crate::split::Split;

use super::scaler::{Scaler, ScalerConfig};
use super::timeseries::TimeSeries;
use super::window::{Boundary, SplitSpec, SplitWindows, WindowConfig, split_index};

/// One forecasting window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowItem {
    /// Inputs, row-major `[lookback, features]`: every column of the rows before the
    /// targets.
    pub input: Vec<f32>,
    /// The target column (column 0) on the next `horizon` rows: `[horizon]`.
    pub target: Vec<f32>,
    /// The row of the series the window starts at (its first input row).
    pub start: usize,
}

/// The windows of one split as a burn [`Dataset`] of [`WindowItem`]s. Cheap to clone:
/// the values are shared.
#[derive(Debug, Clone)]
pub struct WindowDataset {
    values: Arc<[f32]>,
    features: usize,
    config: WindowConfig,
    starts: Vec<usize>,
}

impl WindowDataset {
    /// Windows of `config` shape starting at `starts` over the row-major `values`
    /// (`[rows, features]`, target in column 0). Every window must fit in the rows.
    pub fn new(
        values: Arc<[f32]>,
        features: usize,
        config: WindowConfig,
        starts: Vec<usize>,
    ) -> Result<Self> {
        config.validate()?;
        if features == 0 || !values.len().is_multiple_of(features) {
            return Err(DataError::invalid(
                "window dataset",
                format!(
                    "{} values do not make rows of {features} features",
                    values.len()
                ),
            ));
        }
        let rows = values.len() / features;
        if let Some(bad) = starts
            .iter()
            .find(|&&s| s.checked_add(config.span()).is_none_or(|end| end > rows))
        {
            return Err(DataError::invalid(
                "window dataset",
                format!(
                    "a window starting at row {bad} needs {} rows, past the {rows} rows",
                    config.span()
                ),
            ));
        }
        Ok(Self {
            values,
            features,
            config,
            starts,
        })
    }

    /// Number of features (columns) per step.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The window shape.
    pub fn config(&self) -> WindowConfig {
        self.config
    }

    /// The start row of every window.
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// The item at `index`, or `None` past the end.
    pub fn item(&self, index: usize) -> Option<WindowItem> {
        let start = *self.starts.get(index)?;
        let f = self.features;
        let (l, h) = (self.config.lookback, self.config.horizon);
        let input = self.values.get(start * f..(start + l) * f)?.to_vec();
        let target = (start + l..start + l + h)
            .map(|r| self.values.get(r * f).copied())
            .collect::<Option<Vec<f32>>>()?;
        Some(WindowItem {
            input,
            target,
            start,
        })
    }

    /// A batcher for these windows.
    pub fn batcher(&self) -> SeriesBatcher {
        SeriesBatcher::new(self.config.lookback, self.features, self.config.horizon)
    }
}

impl Dataset<WindowItem> for WindowDataset {
    /// The window at `index`; an index past the end is an error (not a panic).
    fn get(&self, index: usize) -> std::result::Result<WindowItem, DatasetError> {
        self.item(index).ok_or_else(|| {
            DatasetError::new(DataError::invalid(
                "window index",
                format!("{index} is past the {} windows", self.starts.len()),
            ))
        })
    }

    fn len(&self) -> usize {
        self.starts.len()
    }
}

/// A batch of forecasting windows.
#[derive(Debug, Clone)]
pub struct SeriesBatch {
    /// Inputs: `[batch, lookback, features]`.
    pub input: Tensor<3>,
    /// Targets: `[batch, horizon]`.
    pub target: Tensor<2>,
    /// The start row of each window, to map forecasts back to dates.
    pub starts: Vec<usize>,
}

/// Stacks [`WindowItem`]s into a [`SeriesBatch`] on the device the data loader passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesBatcher {
    /// Input steps per item.
    pub lookback: usize,
    /// Features per step.
    pub features: usize,
    /// Target steps per item.
    pub horizon: usize,
}

impl SeriesBatcher {
    /// A batcher for items of `lookback` steps of `features` features and `horizon`
    /// targets.
    pub fn new(lookback: usize, features: usize, horizon: usize) -> Self {
        Self {
            lookback,
            features,
            horizon,
        }
    }
}

impl Batcher<WindowItem, SeriesBatch> for SeriesBatcher {
    /// # Panics
    ///
    /// When an item does not have `lookback * features` inputs and `horizon` targets:
    /// items of a [`WindowDataset`] with the same shape always do.
    fn batch(&self, items: Vec<WindowItem>, device: &Device) -> SeriesBatch {
        let b = items.len();
        let mut input = Vec::with_capacity(b * self.lookback * self.features);
        let mut target = Vec::with_capacity(b * self.horizon);
        let mut starts = Vec::with_capacity(b);
        for item in items {
            input.extend_from_slice(&item.input);
            target.extend_from_slice(&item.target);
            starts.push(item.start);
        }
        SeriesBatch {
            input: Tensor::from_data(
                TensorData::new(input, [b, self.lookback, self.features]),
                device,
            ),
            target: Tensor::from_data(TensorData::new(target, [b, self.horizon]), device),
            starts,
        }
    }
}

/// A series made ready for training a forecaster: split in time, scaled with statistics
/// of the training rows only, and cut into windows that stay inside their split.
#[derive(Debug, Clone)]
pub struct ForecastData {
    /// The scaler fitted on the training rows (to save with the model, and to map
    /// forecasts back with [`Scaler::inverse_transform`] on column 0); `None` when the
    /// values are used as they are.
    pub scaler: Option<Scaler>,
    /// The rows and window starts of each split.
    pub windows: SplitWindows,
    /// Training windows.
    pub train: WindowDataset,
    /// Validation windows.
    pub valid: WindowDataset,
    /// Test windows.
    pub test: WindowDataset,
}

impl ForecastData {
    /// Splits `series` per `split`, fits a scaler of `scaling` (if any) on the training
    /// rows, and cuts each split into windows of `config` within `boundary`.
    ///
    /// Errors: invalid split or window settings; a split too short for one window
    /// ([`DataError::NotEnoughData`]); a training split without rows when scaling.
    pub fn new(
        series: &TimeSeries,
        split: &SplitSpec,
        config: WindowConfig,
        boundary: Boundary,
        scaling: Option<ScalerConfig>,
    ) -> Result<Self> {
        let windows = SplitWindows::from_spec(series.len(), split, config, boundary)?;
        let scaler = match scaling {
            Some(scaling) => Some(Scaler::fit(scaling, series, windows.range(Split::Train))?),
            None => None,
        };
        let values: Vec<f64> = match &scaler {
            Some(scaler) => scaler.transform_series(series)?,
            None => series.values().to_vec(),
        };
        let values: Arc<[f32]> = values.into_iter().map(|v| v as f32).collect();
        let features = series.n_columns();
        let dataset = |i: usize| {
            WindowDataset::new(values.clone(), features, config, windows.starts[i].clone())
        };
        Ok(Self {
            scaler,
            train: dataset(0)?,
            valid: dataset(1)?,
            test: dataset(2)?,
            windows,
        })
    }

    /// The windows of `split`.
    pub fn dataset(&self, split: Split) -> &WindowDataset {
        match split_index(split) {
            0 => &self.train,
            1 => &self.valid,
            _ => &self.test,
        }
    }

    /// A batcher for these windows.
    pub fn batcher(&self) -> SeriesBatcher {
        self.train.batcher()
    }
}
