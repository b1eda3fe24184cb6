//! Positional (chronological) train / validation / test splits: the first part of the data
//! trains, the next validates, the last tests, so nothing from a later split leaks into an
//! earlier one.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// Which part of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Split {
    /// Fitting the model (and the vocabulary / scaler).
    Train,
    /// Model selection, early stopping.
    Valid,
    /// The final figure, looked at once.
    Test,
}

impl Split {
    /// All three, in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// `train`, `valid` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

/// Fractions of the data for each split, taken in order (train first). They must be
/// non-negative and add up to 1 (within 1e-6).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitFractions {
    /// Fraction for training.
    pub train: f64,
    /// Fraction for validation.
    pub valid: f64,
    /// Fraction for testing.
    pub test: f64,
}

impl Default for SplitFractions {
    /// 80 / 10 / 10.
    fn default() -> Self {
        Self::new(0.8, 0.1, 0.1)
    }
}

impl SplitFractions {
    /// Fractions `train`, `valid`, `test`.
    pub fn new(train: f64, valid: f64, test: f64) -> Self {
        Self { train, valid, test }
    }

    /// Checks that the fractions are finite, non-negative and add up to 1.
    pub fn validate(&self) -> Result<()> {
        let all = [self.train, self.valid, self.test];
        if all.iter().any(|f| !f.is_finite() || *f < 0.0) {
            return Err(DataError::invalid(
                "split fractions",
                format!(
                    "train {}, valid {}, test {}: each must be between 0 and 1",
                    self.train, self.valid, self.test
                ),
            ));
        }
        let sum: f64 = all.iter().sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(DataError::invalid(
                "split fractions",
                format!(
                    "train {} + valid {} + test {} = {sum}, not 1",
                    self.train, self.valid, self.test
                ),
            ));
        }
        Ok(())
    }

    /// The index ranges `[train, valid, test]` of `n` items: contiguous, disjoint, in
    /// order, covering `0..n`. Boundaries are rounded to the nearest item.
    pub fn ranges(&self, n: usize) -> Result<[Range<usize>; 3]> {
        self.validate()?;
        let a = ((self.train * n as f64).round() as usize).min(n);
        let b = (((self.train + self.valid) * n as f64).round() as usize).clamp(a, n);
        Ok([0..a, a..b, b..n])
    }
}

/// Ranges `[train, valid, test]` of `n` items where the last `valid` and `test` items are
/// held out (e.g. "the last 24 months as test").
pub fn tail_ranges(n: usize, valid: usize, test: usize) -> Result<[Range<usize>; 3]> {
    if valid + test > n {
        return Err(DataError::NotEnoughData(format!(
            "{n} items cannot hold {valid} validation and {test} test items"
        )));
    }
    let b = n - test;
    let a = b - valid;
    Ok([0..a, a..b, b..n])
}
