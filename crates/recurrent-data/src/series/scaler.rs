//! Per-column scaling fitted on the training rows only, saved as JSON next to a model so
//! that predictions can be mapped back to the units of the data.
//!
//! A value `x` of column `c` becomes `(f(x) - offset[c]) / scale[c]`, where `f` is the
//! identity or, with `log`, `ln(1 + x)` (`log1p`, so zeros such as a year without
//! sunspots stay finite; values at or below -1 are an error). For
//! [`ScalerKind::Standard`] `offset` is the mean and `scale` the population standard
//! deviation (divided by `n`, as scikit-learn's `StandardScaler`); for
//! [`ScalerKind::MinMax`] `offset` is the minimum and `scale` the range, mapping the
//! training rows into `[0, 1]`. A constant column (standard deviation or range 0) gets
//! `scale = 1`, so that it becomes `x - offset` instead of a division by zero.

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Location, Result};
use crate::io::{load_json, save_json};

use super::timeseries::TimeSeries;

/// The statistics a [`Scaler`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ScalerKind {
    /// Zero mean, unit (population) standard deviation. The default.
    #[default]
    Standard,
    /// Training minimum to 0, training maximum to 1.
    MinMax,
}

/// How to scale: the kind and whether to take `ln(1 + x)` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ScalerConfig {
    /// Standard or min-max.
    pub kind: ScalerKind,
    /// Take `ln(1 + x)` before scaling (for positive, skewed data).
    pub log: bool,
}

impl ScalerConfig {
    /// Standard scaling without log.
    pub fn standard() -> Self {
        Self {
            kind: ScalerKind::Standard,
            log: false,
        }
    }

    /// Min-max scaling without log.
    pub fn min_max() -> Self {
        Self {
            kind: ScalerKind::MinMax,
            log: false,
        }
    }

    /// The same, with `ln(1 + x)` first.
    pub fn with_log(mut self, log: bool) -> Self {
        self.log = log;
        self
    }
}

/// The offset and scale of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnScale {
    /// The column's name.
    pub name: String,
    /// Subtracted (after the log, if any): the mean or the minimum.
    pub offset: f64,
    /// Divided by: the standard deviation or the range; 1 for a constant column.
    pub scale: f64,
}

/// A fitted per-column scaler: a value `x` of column `c` becomes
/// `(f(x) - offset[c]) / scale[c]`, `f` the identity or, with `log`, `ln(1 + x)`.
///
/// [`ScalerKind::Standard`]: `offset` the mean and `scale` the population standard
/// deviation (divided by `n`, as scikit-learn's `StandardScaler`).
/// [`ScalerKind::MinMax`]: `offset` the minimum and `scale` the range. A constant column
/// (deviation or range 0) gets `scale = 1`: it becomes `x - offset`, not a division by 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    kind: ScalerKind,
    log: bool,
    columns: Vec<ColumnScale>,
}

impl Scaler {
    /// Fits on rows `rows` of `series` (the training rows: nothing after them is looked
    /// at). Errors on an empty or out-of-range `rows`, and under `log` on a value at or
    /// below -1 (naming its `FILE:LINE`).
    pub fn fit(config: ScalerConfig, series: &TimeSeries, rows: Range<usize>) -> Result<Self> {
        Self::fit_inner(
            config,
            series.columns(),
            series.values(),
            rows,
            Some(series),
        )
    }

    /// Fits on rows `rows` of the row-major `values` (`[rows, columns.len()]`).
    pub fn fit_values(
        config: ScalerConfig,
        columns: &[String],
        values: &[f64],
        rows: Range<usize>,
    ) -> Result<Self> {
        Self::fit_inner(config, columns, values, rows, None)
    }

    fn fit_inner(
        config: ScalerConfig,
        columns: &[String],
        values: &[f64],
        rows: Range<usize>,
        series: Option<&TimeSeries>,
    ) -> Result<Self> {
        let n = columns.len();
        if n == 0 || !values.len().is_multiple_of(n) {
            return Err(DataError::invalid(
                "scaler",
                format!("{} values do not make rows of {n} columns", values.len()),
            ));
        }
        if rows.is_empty() || rows.end > values.len() / n {
            return Err(DataError::NotEnoughData(format!(
                "cannot fit a scaler on rows {}..{} of {}",
                rows.start,
                rows.end,
                values.len() / n
            )));
        }
        let count = rows.len() as f64;
        let mut scales = Vec::with_capacity(n);
        for (c, name) in columns.iter().enumerate() {
            let mut xs = Vec::with_capacity(rows.len());
            for r in rows.clone() {
                let x = pre(config.log, name, values[r * n + c])
                    .map_err(|why| domain_error(why, r, series))?;
                xs.push(x);
            }
            let (offset, spread) = match config.kind {
                ScalerKind::Standard => {
                    let mean = xs.iter().sum::<f64>() / count;
                    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / count;
                    (mean, var.sqrt())
                }
                ScalerKind::MinMax => {
                    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    (min, max - min)
                }
            };
            let scale = if spread > 0.0 && spread.is_finite() {
                spread
            } else {
                1.0
            };
            if !offset.is_finite() {
                return Err(DataError::invalid(
                    "scaler",
                    format!("column {name:?} has a non-finite offset {offset}"),
                ));
            }
            scales.push(ColumnScale {
                name: name.clone(),
                offset,
                scale,
            });
        }
        Ok(Self {
            kind: config.kind,
            log: config.log,
            columns: scales,
        })
    }

    /// Standard or min-max.
    pub fn kind(&self) -> ScalerKind {
        self.kind
    }

    /// Whether `ln(1 + x)` is taken first.
    pub fn log(&self) -> bool {
        self.log
    }

    /// The offset and scale of every column.
    pub fn columns(&self) -> &[ColumnScale] {
        &self.columns
    }

    fn column_scale(&self, column: usize) -> Result<&ColumnScale> {
        self.columns.get(column).ok_or_else(|| {
            DataError::invalid(
                "scaler column",
                format!(
                    "column {column} does not exist; the scaler has {} columns",
                    self.columns.len()
                ),
            )
        })
    }

    /// Scales one value of column `column`.
    pub fn transform_value(&self, column: usize, x: f64) -> Result<f64> {
        let s = self.column_scale(column)?;
        let x = pre(self.log, &s.name, x).map_err(|why| DataError::invalid("log scaling", why))?;
        Ok((x - s.offset) / s.scale)
    }

    /// Maps one scaled value of column `column` back to the data's units.
    pub fn inverse_value(&self, column: usize, y: f64) -> Result<f64> {
        let s = self.column_scale(column)?;
        let x = y * s.scale + s.offset;
        Ok(if self.log { x.exp_m1() } else { x })
    }

    /// Scales row-major `values` (`[rows, columns]`, every column of the scaler).
    pub fn transform(&self, values: &[f64]) -> Result<Vec<f64>> {
        self.transform_inner(values, None)
    }

    fn transform_inner(&self, values: &[f64], series: Option<&TimeSeries>) -> Result<Vec<f64>> {
        let n = self.columns.len();
        if n == 0 || !values.len().is_multiple_of(n) {
            return Err(DataError::invalid(
                "scaler input",
                format!("{} values do not make rows of {n} columns", values.len()),
            ));
        }
        values
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let s = &self.columns[i % n];
                let x =
                    pre(self.log, &s.name, x).map_err(|why| domain_error(why, i / n, series))?;
                Ok((x - s.offset) / s.scale)
            })
            .collect()
    }

    /// Scales every value of `series`, whose columns must be the scaler's (same names,
    /// same order); a value out of the log's domain is an error at its `FILE:LINE`.
    pub fn transform_series(&self, series: &TimeSeries) -> Result<Vec<f64>> {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        if series.columns() != names.as_slice() {
            return Err(DataError::invalid(
                "scaler input",
                format!(
                    "the series has columns {:?} but the scaler was fitted on {names:?}",
                    series.columns()
                ),
            ));
        }
        self.transform_inner(series.values(), Some(series))
    }

    /// Maps scaled values of one column (a forecast of the target: `column` 0) back to
    /// the data's units.
    pub fn inverse_transform(&self, column: usize, values: &[f64]) -> Result<Vec<f64>> {
        values
            .iter()
            .map(|&y| self.inverse_value(column, y))
            .collect()
    }

    /// [`Scaler::inverse_transform`] for `f32` model outputs.
    pub fn inverse_transform_f32(&self, column: usize, values: &[f32]) -> Result<Vec<f32>> {
        values
            .iter()
            .map(|&y| self.inverse_value(column, f64::from(y)).map(|x| x as f32))
            .collect()
    }

    /// Writes the scaler as JSON to `path` (atomically).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save_json(path.as_ref(), self)
    }

    /// Reads a scaler written by [`Scaler::save`]; an offset that is not finite or a
    /// scale that is not positive is [`DataError::Invalid`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let scaler: Scaler = load_json(path)?;
        for c in &scaler.columns {
            if !c.offset.is_finite() || !c.scale.is_finite() || c.scale <= 0.0 {
                return Err(DataError::invalid(
                    "scaler file",
                    format!(
                        "{}: column {:?} has offset {} and scale {}; the scale must be positive and both finite",
                        path.display(),
                        c.name,
                        c.offset,
                        c.scale
                    ),
                ));
            }
        }
        Ok(scaler)
    }
}

/// The value before offset and scale: `x`, or `ln(1 + x)` under `log`; the reason when
/// `x` is out of the log's domain.
fn pre(log: bool, name: &str, x: f64) -> std::result::Result<f64, String> {
    if !log {
        return Ok(x);
    }
    if x.is_nan() || x <= -1.0 {
        return Err(format!(
            "value {x} in column {name:?} is -1 or below; ln(1 + x) needs x > -1"
        ));
    }
    Ok(x.ln_1p())
}

/// A log-domain error on row `row`: at the series' `FILE:LINE` when there is a series,
/// [`DataError::Invalid`] naming the row otherwise.
fn domain_error(why: String, row: usize, series: Option<&TimeSeries>) -> DataError {
    match series.and_then(|s| Some((s.path(), *s.lines().get(row)?))) {
        Some((path, line)) => DataError::parse(Location::line(path, line), why),
        None => DataError::invalid("log scaling", format!("row {row}: {why}")),
    }
}
