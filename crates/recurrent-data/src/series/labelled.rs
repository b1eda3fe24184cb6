//! Per-step labelling of a time series: numeric feature columns and a categorical label
//! column, cut per chronological split into windows where every step has a class.
//!
//! The class vocabulary and the feature scaler are built from the training rows only; a
//! class that first appears in validation or test is an error
//! ([`DataError::UnknownLabel`] with its `FILE:LINE:COL`), not a silent new class.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{DataError, Location, Result};
use crate::split::Split;

use super::missing::{MissingPolicy, MissingReport};
use super::scaler::{Scaler, ScalerConfig};
use super::table::Table;
use super::timeseries::{column_indices, select};
use super::window::{SplitSpec, split_index};

/// What to load for per-step labelling: [`load_step_labels`].
#[derive(Debug, Clone, PartialEq)]
pub struct StepLabelOptions {
    /// Numeric input columns, in this order.
    pub features: Vec<String>,
    /// The categorical label column (text).
    pub label: String,
    /// How rows are split in time.
    pub split: SplitSpec,
    /// Steps per window (`L`).
    pub window: usize,
    /// Rows between window starts (`S`).
    pub stride: usize,
    /// Feature scaling fitted on the training rows; `None` keeps raw values.
    pub scaler: Option<ScalerConfig>,
    /// What to do with missing features and labels (labels cannot be interpolated).
    pub missing: MissingPolicy,
}

impl StepLabelOptions {
    /// `features` labelled by `label`, windows of `window` steps `stride` apart, an
    /// 80/10/10 split, standard scaling, missing values an error.
    pub fn new<S: Into<String>>(
        features: impl IntoIterator<Item = S>,
        label: impl Into<String>,
        window: usize,
        stride: usize,
    ) -> Self {
        Self {
            features: features.into_iter().map(Into::into).collect(),
            label: label.into(),
            split: SplitSpec::default(),
            window,
            stride,
            scaler: Some(ScalerConfig::standard()),
            missing: MissingPolicy::Error,
        }
    }
}

/// A labelled series split, scaled and windowed: [`load_step_labels`].
#[derive(Debug, Clone)]
pub struct StepLabelData {
    path: PathBuf,
    features: Vec<String>,
    label: String,
    classes: Vec<String>,
    scaler: Option<Scaler>,
    lines: Vec<usize>,
    labels: Arc<[i64]>,
    missing: Vec<MissingReport>,
    ranges: [Range<usize>; 3],
    /// Training windows.
    pub train: StepLabelDataset,
    /// Validation windows.
    pub valid: StepLabelDataset,
    /// Test windows.
    pub test: StepLabelDataset,
}

/// Loads a per-step labelling dataset from the CSV file at `path`.
///
/// Rows keep file order; `options.missing` applies to the features and the label; the
/// rows are split per `options.split`; the classes are the distinct labels of the
/// training rows, sorted; the scaler is fitted on the training rows; each split is cut
/// into windows of `options.window` steps, `options.stride` apart, inside the split.
///
/// Errors: those of [`Table::read`]; an unknown or repeated column; a feature that is
/// not a number (`FILE:LINE:COL`); missing values per the policy; a label of the
/// validation or test rows not seen in training ([`DataError::UnknownLabel`], kind
/// `class`); a window or stride of 0; a non-empty split shorter than a window
/// ([`DataError::NotEnoughData`]).
pub fn load_step_labels(
    path: impl AsRef<Path>,
    options: &StepLabelOptions,
) -> Result<StepLabelData> {
    StepLabelData::from_table(&Table::read(path)?, options)
}

impl StepLabelData {
    /// [`load_step_labels`] on a table already read.
    pub fn from_table(table: &Table, options: &StepLabelOptions) -> Result<Self> {
        if options.features.is_empty() {
            return Err(DataError::invalid("features", "no feature column given"));
        }
        let mut names: Vec<&str> = options.features.iter().map(String::as_str).collect();
        names.push(&options.label);
        let mut indices = column_indices(table, &names)?;
        let label_index = indices.pop().unwrap_or_default();
        let selection = select(table, &indices, None, Some(label_index), options.missing)?;
        let n = selection.rows.len();
        let lines: Vec<usize> = selection.rows.iter().map(|&r| table.lines()[r]).collect();
        let text = selection.labels.unwrap_or_default();

        for (name, value) in [("window", options.window), ("stride", options.stride)] {
            if value == 0 {
                return Err(DataError::invalid(
                    "window",
                    format!("{name} is {value}; it must be at least 1"),
                ));
            }
        }
        let ranges = options.split.ranges(n)?;
        let starts = [0, 1, 2]
            .map(|i| label_window_starts(ranges[i].clone(), options.window, options.stride));
        for ((split, range), starts) in Split::ALL.iter().zip(&ranges).zip(&starts) {
            if starts.is_empty() && !range.is_empty() {
                return Err(DataError::NotEnoughData(format!(
                    "the {} split has {} rows (rows {}..{} of {n}) but a window needs {} rows",
                    split.name(),
                    range.len(),
                    range.start,
                    range.end,
                    options.window
                )));
            }
        }

        // Classes from the training rows only.
        let train = ranges[0].clone();
        let classes: Vec<String> = text[train.clone()]
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut labels = Vec::with_capacity(n);
        for (row, label) in text.iter().enumerate() {
            match classes.binary_search(label) {
                Ok(index) => labels.push(index as i64),
                Err(_) => {
                    return Err(DataError::UnknownLabel {
                        at: Location::at(table.path(), lines[row], label_index + 1),
                        kind: "class",
                        label: label.clone(),
                        known: classes.clone(),
                    });
                }
            }
        }

        let features: Vec<String> = options.features.clone();
        let scaler = match options.scaler {
            Some(config) => Some(Scaler::fit_values(
                config,
                &features,
                &selection.values,
                train,
            )?),
            None => None,
        };
        let values = match &scaler {
            Some(scaler) => scaler.transform(&selection.values)?,
            None => selection.values,
        };
        let values: Arc<[f32]> = values.into_iter().map(|v| v as f32).collect();
        let labels: Arc<[i64]> = labels.into();
        let dataset = |i: usize| StepLabelDataset {
            values: values.clone(),
            labels: labels.clone(),
            features: features.len(),
            window: options.window,
            starts: starts[i].clone(),
        };
        Ok(Self {
            path: table.path().to_path_buf(),
            label: options.label.clone(),
            classes,
            scaler,
            lines,
            missing: selection.reports,
            train: dataset(0),
            valid: dataset(1),
            test: dataset(2),
            ranges,
            labels,
            features,
        })
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Feature column names, in input order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// The label column's name.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The classes (from the training rows, sorted); a label's id is its index here.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The id of class `name`.
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.classes.binary_search_by(|c| c.as_str().cmp(name)).ok()
    }

    /// The feature scaler fitted on the training rows.
    pub fn scaler(&self) -> Option<&Scaler> {
        self.scaler.as_ref()
    }

    /// Number of rows kept.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no rows were kept (never, for loaded data).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The 1-based file line of every row.
    pub fn lines(&self) -> &[usize] {
        &self.lines
    }

    /// The class id of every row.
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// The missing values of each feature column and what was done with them.
    pub fn missing(&self) -> &[MissingReport] {
        &self.missing
    }

    /// The rows of `split`.
    pub fn range(&self, split: Split) -> Range<usize> {
        self.ranges[split_index(split)].clone()
    }

    /// The windows of `split`.
    pub fn dataset(&self, split: Split) -> &StepLabelDataset {
        match split_index(split) {
            0 => &self.train,
            1 => &self.valid,
            _ => &self.test,
        }
    }

    /// A batcher for these windows.
    pub fn batcher(&self) -> StepLabelBatcher {
        StepLabelBatcher::new(self.train.window, self.features.len())
    }
}

/// The start rows of the windows of `window` rows, `stride` apart, inside `range`:
/// `(len - window) / stride + 1` of them when `len >= window`, else none.
pub fn label_window_starts(range: Range<usize>, window: usize, stride: usize) -> Vec<usize> {
    if window == 0 || stride == 0 || range.len() < window {
        return Vec::new();
    }
    (range.start..=range.end - window).step_by(stride).collect()
}

/// One labelled window.
#[derive(Debug, Clone, PartialEq)]
pub struct StepLabelItem {
    /// Features, row-major `[window, features]`.
    pub input: Vec<f32>,
    /// The class id of every step: `[window]`.
    pub labels: Vec<i64>,
    /// The row the window starts at.
    pub start: usize,
}

/// The labelled windows of one split, a burn [`Dataset`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StepLabelDataset {
    values: Arc<[f32]>,
    labels: Arc<[i64]>,
    features: usize,
    window: usize,
    starts: Vec<usize>,
}

impl StepLabelDataset {
    /// Steps per window.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Features per step.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The start row of every window.
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// The item at `index`, or `None` past the end.
    pub fn item(&self, index: usize) -> Option<StepLabelItem> {
        let start = *self.starts.get(index)?;
        let end = start.checked_add(self.window)?;
        Some(StepLabelItem {
            input: self
                .values
                .get(start * self.features..end * self.features)?
                .to_vec(),
            labels: self.labels.get(start..end)?.to_vec(),
            start,
        })
    }
}

impl Dataset<StepLabelItem> for StepLabelDataset {
    /// The window at `index`; an index past the end is an error (not a panic).
    fn get(&self, index: usize) -> std::result::Result<StepLabelItem, DatasetError> {
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

/// A batch of labelled windows.
#[derive(Debug, Clone)]
pub struct StepLabelBatch {
    /// Features: `[batch, window, features]`.
    pub input: Tensor<3>,
    /// Class ids: `[batch, window]`.
    pub labels: Tensor<2, Int>,
    /// The start row of each window.
    pub starts: Vec<usize>,
}

/// Stacks [`StepLabelItem`]s into a [`StepLabelBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepLabelBatcher {
    /// Steps per item.
    pub window: usize,
    /// Features per step.
    pub features: usize,
}

impl StepLabelBatcher {
    /// A batcher for items of `window` steps of `features` features.
    pub fn new(window: usize, features: usize) -> Self {
        Self { window, features }
    }
}

impl Batcher<StepLabelItem, StepLabelBatch> for StepLabelBatcher {
    /// # Panics
    ///
    /// When an item does not have `window * features` inputs and `window` labels: items
    /// of a [`StepLabelDataset`] with the same shape always do.
    fn batch(&self, items: Vec<StepLabelItem>, device: &Device) -> StepLabelBatch {
        let b = items.len();
        let mut input = Vec::with_capacity(b * self.window * self.features);
        let mut labels = Vec::with_capacity(b * self.window);
        let mut starts = Vec::with_capacity(b);
        for item in items {
            input.extend_from_slice(&item.input);
            labels.extend_from_slice(&item.labels);
            starts.push(item.start);
        }
        StepLabelBatch {
            input: Tensor::from_data(
                TensorData::new(input, [b, self.window, self.features]),
                device,
            ),
            labels: Tensor::from_data(TensorData::new(labels, [b, self.window]), device),
            starts,
        }
    }
}
