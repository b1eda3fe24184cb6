//! Missing values: which fields count as missing, the policy that decides what happens to
//! them, and the per-column report of what was found and done.
//!
//! A gap is never read as 0: with the default policy ([`MissingPolicy::Error`]) loading
//! stops and says where the gaps are.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// The fields that mean "no value" (after trimming, compared exactly): the empty field,
/// `NA`, `N/A`, `NaN`, `nan`, `null`, `NULL`, `?` and `-`.
pub const MISSING_MARKERS: [&str; 9] = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?", "-"];

/// How many lines of gaps a [`MissingReport`] (and [`DataError::MissingValues`]) names.
pub const MISSING_LINES_SHOWN: usize = 5;

/// Whether a (trimmed) field is one of the [`MISSING_MARKERS`].
pub fn is_missing(field: &str) -> bool {
    MISSING_MARKERS.contains(&field.trim())
}

/// What to do with missing values in the selected columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum MissingPolicy {
    /// Stop with [`DataError::MissingValues`]: the column, how many gaps, and the lines
    /// of the first few. The default: nothing is filled behind the user's back.
    #[default]
    Error,
    /// Linear interpolation by row index between the nearest present values before and
    /// after each gap; a gap at the start or end takes the nearest present value (like
    /// pandas' `interpolate(limit_direction="both")`). Labels cannot be interpolated.
    Interpolate,
    /// The previous present value (pandas' `ffill`). A gap in the first row is an error
    /// naming its line: there is nothing before it (use interpolate or drop).
    ForwardFill,
    /// Remove every row with a missing value in any selected column (or its date or
    /// label). Windows then run over the remaining rows as if they were adjacent.
    Drop,
}

impl MissingPolicy {
    /// All policies.
    pub const ALL: [MissingPolicy; 4] = [
        MissingPolicy::Error,
        MissingPolicy::Interpolate,
        MissingPolicy::ForwardFill,
        MissingPolicy::Drop,
    ];

    /// `error`, `interpolate`, `ffill` or `drop`: the names [`FromStr`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            MissingPolicy::Error => "error",
            MissingPolicy::Interpolate => "interpolate",
            MissingPolicy::ForwardFill => "ffill",
            MissingPolicy::Drop => "drop",
        }
    }
}

impl fmt::Display for MissingPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MissingPolicy {
    type Err = DataError;

    /// `error`, `interpolate`, `ffill` or `drop` (any case).
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        MissingPolicy::ALL
            .into_iter()
            .find(|p| p.name() == lower)
            .ok_or_else(|| {
                DataError::invalid(
                    "missing-value policy",
                    format!("{s:?}: expected error, interpolate, ffill or drop"),
                )
            })
    }
}

/// The missing values found in one selected column and what was done with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingReport {
    /// The column.
    pub column: String,
    /// How many of its values were missing.
    pub count: usize,
    /// 1-based file lines of the first [`MISSING_LINES_SHOWN`] gaps.
    pub first_lines: Vec<usize>,
    /// What was done with them.
    pub policy: MissingPolicy,
}

impl MissingReport {
    /// The report of a column whose values are `present` (one flag per row) on the file
    /// `lines` of those rows.
    pub(crate) fn new(
        column: &str,
        present: impl Iterator<Item = bool>,
        lines: &[usize],
        policy: MissingPolicy,
    ) -> Self {
        let missing: Vec<usize> = present
            .zip(lines)
            .filter(|(p, _)| !p)
            .map(|(_, l)| *l)
            .collect();
        Self {
            column: column.to_string(),
            count: missing.len(),
            first_lines: missing.into_iter().take(MISSING_LINES_SHOWN).collect(),
            policy,
        }
    }
}

impl fmt::Display for MissingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 0 {
            return write!(f, "column {:?}: no missing values", self.column);
        }
        let lines = self
            .first_lines
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let more = if self.count > self.first_lines.len() {
            ", …"
        } else {
            ""
        };
        let action = match self.policy {
            MissingPolicy::Error => "not filled",
            MissingPolicy::Interpolate => "filled by linear interpolation",
            MissingPolicy::ForwardFill => "filled with the previous value",
            MissingPolicy::Drop => "their rows dropped",
        };
        write!(
            f,
            "column {:?}: {} missing value(s) at line(s) {lines}{more}, {action}",
            self.column, self.count
        )
    }
}

/// Fills the gaps of `values` by linear interpolation by index; leading and trailing gaps
/// take the nearest present value. `None` when every value is missing.
pub(crate) fn interpolate(values: &[Option<f64>]) -> Option<Vec<f64>> {
    let present: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_some()).collect();
    let (&first, &last) = (present.first()?, present.last()?);
    let value = |i: usize| values[i].unwrap_or_default();
    let mut out = Vec::with_capacity(values.len());
    let mut next = 0; // index into `present` of the first present row at or after i
    for (i, v) in values.iter().enumerate() {
        while next < present.len() && present[next] < i {
            next += 1;
        }
        out.push(match v {
            Some(v) => *v,
            None if i < first => value(first),
            None if i > last => value(last),
            None => {
                let (lo, hi) = (present[next - 1], present[next]);
                let t = (i - lo) as f64 / (hi - lo) as f64;
                value(lo) + t * (value(hi) - value(lo))
            }
        });
    }
    Some(out)
}

/// Fills each gap of `values` with the previous value; `Err(row)` with the first row when
/// it is missing (nothing to carry forward).
pub(crate) fn forward_fill<T: Clone>(values: &[Option<T>]) -> std::result::Result<Vec<T>, usize> {
    let mut out: Vec<T> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        match (v, out.last()) {
            (Some(v), _) => out.push(v.clone()),
            (None, Some(prev)) => out.push(prev.clone()),
            (None, None) => return Err(i),
        }
    }
    Ok(out)
}
