//! Time series from CSV: named columns, dates, an explicit missing-value policy, sliding
//! windows that never cross a chronological split, and scalers fitted on the training
//! split only.
//!
//! - [`Table`]: a CSV file read whole, with the file line of every row; ragged rows and
//!   invalid UTF-8 are errors at `FILE:LINE`.
//! - [`load_series`] with [`SeriesOptions`]: a [`TimeSeries`] of the target and
//!   covariates (`f64`, row-major `[time][column]`), its dates ([`DateFormat`]) and a
//!   [`MissingReport`] per column; [`MissingPolicy`] says what happens to gaps.
//! - [`WindowConfig`], [`SplitWindows`] and [`Boundary`]: direct multi-step windows
//!   (inputs `[lookback, features]`, targets `[horizon]` of column 0) per split.
//! - [`Scaler`]: standard or min-max, optionally after `ln(1 + x)`, saved as JSON.
//! - [`WindowDataset`] and [`SeriesBatcher`]: burn's `Dataset` and `Batcher` giving
//!   [`SeriesBatch`]es (`input [batch, lookback, features]`, `target [batch, horizon]`);
//!   [`ForecastData`] does the split, scaling and windowing in one call.
//! - [`load_step_labels`]: per-step classification windows (`input [batch, window,
//!   features]`, `labels [batch, window]`) with a class vocabulary from the training
//!   rows.
//!
//! ```no_run
//! use recurrent_data::series::{
//!     load_series, Boundary, ForecastData, MissingPolicy, ScalerConfig, SeriesOptions,
//!     SplitSpec, WindowConfig,
//! };
//!
//! # fn main() -> recurrent_data::error::Result<()> {
//! let options = SeriesOptions::new("co2").with_missing(MissingPolicy::Interpolate);
//! let series = load_series("data/ts_co2_weekly_maunaloa.csv", &options)?;
//! let data = ForecastData::new(
//!     &series,
//!     &SplitSpec::Tail { valid: 104, test: 104 },
//!     WindowConfig::new(52, 4, 1),
//!     Boundary::Strict,
//!     Some(ScalerConfig::standard()),
//! )?;
//! println!("{} training windows", data.train.starts().len());
//! # Ok(())
//! # }
//! ```

mod batch;
mod dates;
mod labelled;
mod missing;
mod scaler;
mod table;
mod timeseries;
mod window;

pub use batch::{ForecastData, SeriesBatch, SeriesBatcher, WindowDataset, WindowItem};
pub use dates::{DATE_PARTS, DateFormat, NameHint, next_dates};
pub(crate) use dates::{date_part_columns, parse_date_parts};
pub use labelled::{
    StepLabelBatch, StepLabelBatcher, StepLabelData, StepLabelDataset, StepLabelItem,
    StepLabelOptions, label_window_starts, load_step_labels,
};
pub use missing::{MISSING_LINES_SHOWN, MISSING_MARKERS, MissingPolicy, MissingReport, is_missing};
pub use scaler::{ColumnScale, Scaler, ScalerConfig, ScalerKind};
pub use table::{ColumnType, Table, parse_number};
pub use timeseries::{SeriesOptions, TimeSeries, load_series};
pub use window::{Boundary, SplitSpec, SplitWindows, WindowConfig, window_count, window_starts};
