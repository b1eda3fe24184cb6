//! Sliding windows over a time series for direct multi-step forecasting, cut per
//! chronological split so that no window crosses from one split into the next.
//!
//! A window starting at row `s` has inputs on rows `s .. s + lookback` (every column) and
//! targets on rows `s + lookback .. s + lookback + horizon` (column 0, the target).

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::split::{Split, SplitFractions, tail_ranges};

/// The shape of the windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowConfig {
    /// Input steps per window (≥ 1).
    pub lookback: usize,
    /// Target steps per window, predicted at once (≥ 1).
    pub horizon: usize,
    /// Rows between the starts of consecutive windows (≥ 1).
    pub stride: usize,
}

impl WindowConfig {
    /// `lookback` inputs, `horizon` targets, windows `stride` rows apart.
    pub fn new(lookback: usize, horizon: usize, stride: usize) -> Self {
        Self {
            lookback,
            horizon,
            stride,
        }
    }

    /// Checks that every size is at least 1; the error names the one that is not.
    pub fn validate(&self) -> Result<()> {
        for (name, value) in [
            ("lookback", self.lookback),
            ("horizon", self.horizon),
            ("stride", self.stride),
        ] {
            if value == 0 {
                return Err(DataError::invalid(
                    "window",
                    format!("{name} is {value}; it must be at least 1"),
                ));
            }
        }
        if self.lookback.checked_add(self.horizon).is_none() {
            return Err(DataError::invalid(
                "window",
                format!(
                    "lookback {} + horizon {} overflows",
                    self.lookback, self.horizon
                ),
            ));
        }
        Ok(())
    }

    /// Rows one window covers: `lookback + horizon`.
    pub fn span(&self) -> usize {
        self.lookback.saturating_add(self.horizon)
    }
}

/// Which rows of a split its windows may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Boundary {
    /// The whole window, inputs and targets, lies inside the split. The default.
    #[default]
    Strict,
    /// The targets lie inside the split; the inputs may reach back into the rows before
    /// it (the end of the previous split). Still leak-free: at forecast time the past is
    /// known. Validation and test then get windows from their very first row.
    TargetsOnly,
}

impl Boundary {
    /// `strict` or `targets-only`.
    pub fn name(self) -> &'static str {
        match self {
            Boundary::Strict => "strict",
            Boundary::TargetsOnly => "targets-only",
        }
    }
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Boundary {
    type Err = DataError;

    /// `strict` or `targets-only` (also `targets_only`, any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "strict" => Ok(Boundary::Strict),
            "targets-only" => Ok(Boundary::TargetsOnly),
            _ => Err(DataError::invalid(
                "window boundary",
                format!("{s:?}: expected strict or targets-only"),
            )),
        }
    }
}

/// The first target row of the first window of `range`, or `None` when the range cannot
/// hold a single window.
fn first_target(range: &Range<usize>, config: &WindowConfig, boundary: Boundary) -> Option<usize> {
    let first = match boundary {
        Boundary::Strict => range.start.checked_add(config.lookback)?,
        Boundary::TargetsOnly => range.start.max(config.lookback),
    };
    (first.checked_add(config.horizon)? <= range.end).then_some(first)
}

/// Number of windows in the rows `range`: with `first` the first target row (`start +
/// lookback` for [`Boundary::Strict`], `max(start, lookback)` for
/// [`Boundary::TargetsOnly`]), `(end - first - horizon) / stride + 1` when
/// `first + horizon <= end`, else 0. An invalid config has no windows.
pub fn window_count(range: Range<usize>, config: &WindowConfig, boundary: Boundary) -> usize {
    if config.validate().is_err() {
        return 0;
    }
    match first_target(&range, config, boundary) {
        Some(first) => (range.end - first - config.horizon) / config.stride + 1,
        None => 0,
    }
}

/// The start rows (first input row) of the windows in `range`, `stride` apart.
pub fn window_starts(range: Range<usize>, config: &WindowConfig, boundary: Boundary) -> Vec<usize> {
    let count = window_count(range.clone(), config, boundary);
    match first_target(&range, config, boundary) {
        Some(first) => (0..count)
            .map(|i| first - config.lookback + i * config.stride)
            .collect(),
        None => Vec::new(),
    }
}

/// How a series is cut into train / validation / test rows, in time order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SplitSpec {
    /// Fractions of the rows (see [`SplitFractions::ranges`]).
    Fractions(SplitFractions),
    /// The last `valid + test` rows held out: validation, then test.
    Tail {
        /// Validation rows.
        valid: usize,
        /// Test rows, at the very end.
        test: usize,
    },
}

impl Default for SplitSpec {
    /// 80 / 10 / 10 fractions.
    fn default() -> Self {
        SplitSpec::Fractions(SplitFractions::default())
    }
}

impl SplitSpec {
    /// The row ranges `[train, valid, test]` of `n` rows.
    pub fn ranges(&self, n: usize) -> Result<[Range<usize>; 3]> {
        match self {
            SplitSpec::Fractions(f) => f.ranges(n),
            SplitSpec::Tail { valid, test } => tail_ranges(n, *valid, *test),
        }
    }
}

/// The windows of each split of a series: their start rows, every window inside its
/// split (per the [`Boundary`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitWindows {
    /// Rows of each split: `[train, valid, test]`.
    pub ranges: [Range<usize>; 3],
    /// Start rows of each split's windows, ascending.
    pub starts: [Vec<usize>; 3],
    /// The window shape.
    pub config: WindowConfig,
    /// How windows meet split boundaries.
    pub boundary: Boundary,
}

impl SplitWindows {
    /// The windows of each of `ranges` over `rows` rows.
    ///
    /// `ranges` must be in order, disjoint and within `0..rows` ([`DataError::Invalid`]
    /// otherwise). A non-empty split that cannot hold one window is
    /// [`DataError::NotEnoughData`] naming the split, its length and what a window needs;
    /// an empty split (a fraction of 0) simply has no windows.
    pub fn new(
        rows: usize,
        ranges: [Range<usize>; 3],
        config: WindowConfig,
        boundary: Boundary,
    ) -> Result<Self> {
        config.validate()?;
        let mut previous_end = 0;
        for (split, range) in Split::ALL.iter().zip(&ranges) {
            if range.start < previous_end || range.end < range.start || range.end > rows {
                return Err(DataError::invalid(
                    "split ranges",
                    format!(
                        "{} rows {}..{} are not in order within 0..{rows}",
                        split.name(),
                        range.start,
                        range.end
                    ),
                ));
            }
            previous_end = range.end;
        }
        let starts = [0, 1, 2].map(|i| window_starts(ranges[i].clone(), &config, boundary));
        for ((split, range), starts) in Split::ALL.iter().zip(&ranges).zip(&starts) {
            if starts.is_empty() && !range.is_empty() {
                let needs = match boundary {
                    Boundary::Strict => format!(
                        "a window needs lookback {} + horizon {} = {} rows",
                        config.lookback,
                        config.horizon,
                        config.span()
                    ),
                    Boundary::TargetsOnly => format!(
                        "a window needs horizon {} rows inside the split after lookback {} rows of history (lookback + horizon = {})",
                        config.horizon,
                        config.lookback,
                        config.span()
                    ),
                };
                return Err(DataError::NotEnoughData(format!(
                    "the {} split has {} rows (rows {}..{} of {rows}) but {needs}",
                    split.name(),
                    range.len(),
                    range.start,
                    range.end
                )));
            }
        }
        Ok(Self {
            ranges,
            starts,
            config,
            boundary,
        })
    }

    /// [`SplitWindows::new`] with the ranges of `split` over `rows` rows.
    pub fn from_spec(
        rows: usize,
        split: &SplitSpec,
        config: WindowConfig,
        boundary: Boundary,
    ) -> Result<Self> {
        Self::new(rows, split.ranges(rows)?, config, boundary)
    }

    /// The start rows of `split`'s windows.
    pub fn starts(&self, split: Split) -> &[usize] {
        &self.starts[split_index(split)]
    }

    /// The rows of `split`.
    pub fn range(&self, split: Split) -> Range<usize> {
        self.ranges[split_index(split)].clone()
    }
}

/// 0, 1, 2 for train, valid, test.
pub(crate) fn split_index(split: Split) -> usize {
    match split {
        Split::Train => 0,
        Split::Valid => 1,
        Split::Test => 2,
    }
}
