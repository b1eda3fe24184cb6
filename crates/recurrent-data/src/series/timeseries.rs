//! A numeric time series loaded from CSV: the target column and covariates, dates, the
//! file line of every row, and what was done about missing values.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::error::{DataError, IN_MEMORY, Location, Result};

use super::dates::{DateFormat, ParsedDates, choose_date_column};
use super::missing::{MissingPolicy, MissingReport, forward_fill, interpolate, is_missing};
use super::table::{Table, parse_number};

/// What to load from a CSV file: [`load_series`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesOptions {
    /// The column to forecast; column 0 of the series.
    pub target: String,
    /// Further input columns, in this order after the target.
    pub covariates: Vec<String>,
    /// The date column, or the date's parts separated by commas (`year,month,day[,hour]`);
    /// `None` detects it (see [`load_series`]).
    pub date_column: Option<String>,
    /// What to do with missing values in the target and covariates.
    pub missing: MissingPolicy,
}

impl SeriesOptions {
    /// Loads `target` alone, dates detected, missing values an error.
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            covariates: Vec::new(),
            date_column: None,
            missing: MissingPolicy::Error,
        }
    }

    /// With these covariates.
    pub fn with_covariates<S: Into<String>>(
        mut self,
        covariates: impl IntoIterator<Item = S>,
    ) -> Self {
        self.covariates = covariates.into_iter().map(Into::into).collect();
        self
    }

    /// With this date column.
    pub fn with_date_column(mut self, column: impl Into<String>) -> Self {
        self.date_column = Some(column.into());
        self
    }

    /// With this missing-value policy.
    pub fn with_missing(mut self, policy: MissingPolicy) -> Self {
        self.missing = policy;
        self
    }
}

/// A multivariate time series: `len()` rows (time steps) of `n_columns()` values, the
/// target in column 0 and the covariates after it.
///
/// Values are `f64`, row-major (`[time][column]`): loading keeps full precision, and the
/// windows and scalers turn them into `f32` for tensors at the end. Every value is finite.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    path: PathBuf,
    columns: Vec<String>,
    values: Vec<f64>,
    dates: Option<Vec<NaiveDateTime>>,
    date_format: Option<DateFormat>,
    date_column: Option<String>,
    lines: Vec<usize>,
    missing: Vec<MissingReport>,
    policy: MissingPolicy,
    dropped_rows: usize,
}

/// Loads a time series from the CSV file at `path`.
///
/// The columns are `options.target` then `options.covariates`; every value must be a
/// number or a missing marker ([`super::MISSING_MARKERS`]), which `options.missing`
/// handles. Dates come from `options.date_column` when given (one column, or
/// `year,month,day[,hour]` columns read as one date); otherwise from columns named `year`,
/// `month` and `day` (and `hour`) together, as pandas' `to_datetime` reads them; otherwise
/// from the first column (other than the selected ones) named like a date (`date`, `time`, `timestamp`,
/// `ds`, `month`, `year`, …) whose values parse as dates, or else the first whose every
/// value parses as an unambiguous date; a file without one gives a series without dates.
/// See [`super::DateFormat`] for the formats. Rows whose date is missing are dropped
/// under [`MissingPolicy::Drop`] and an error otherwise. Dates out of order only log a
/// warning: rows stay in file order.
///
/// Errors: those of [`Table::read`]; [`DataError::UnknownColumn`] for a name not in the
/// header; [`DataError::Invalid`] for a column selected twice or selected both as data
/// and as the date column; `FILE:LINE:COL: cannot parse "abc" as a number in column "x"`;
/// a date that does not parse, at its `FILE:LINE:COL`; [`DataError::MissingValues`]
/// under the `error` policy; a column with no value at all; a leading gap under `ffill`.
pub fn load_series(path: impl AsRef<Path>, options: &SeriesOptions) -> Result<TimeSeries> {
    TimeSeries::from_table(&Table::read(path)?, options)
}

/// The result of selecting columns of a table and applying a missing-value policy.
pub(crate) struct Selection {
    /// Row-major values of the kept rows.
    pub values: Vec<f64>,
    /// Table rows kept, in order.
    pub rows: Vec<usize>,
    /// One report per numeric column.
    pub reports: Vec<MissingReport>,
    /// Dates of the kept rows.
    pub dates: Option<(String, DateFormat, Vec<NaiveDateTime>)>,
    /// Label text of the kept rows, when a label column was asked for.
    pub labels: Option<Vec<String>>,
}

/// Reads columns `numeric` of `table` as numbers, column `label` (if any) as text and the
/// date column (if any), and applies `policy` to their gaps.
pub(crate) fn select(
    table: &Table,
    numeric: &[usize],
    dates: Option<ParsedDates>,
    label: Option<usize>,
    policy: MissingPolicy,
) -> Result<Selection> {
    let n = table.n_rows();
    let lines = table.lines();
    let header = table.header();

    // Parse every numeric column, keeping gaps as None.
    let mut parsed: Vec<Vec<Option<f64>>> = Vec::with_capacity(numeric.len());
    for &c in numeric {
        let fields = table.column(c).unwrap_or(&[]);
        let mut column = Vec::with_capacity(n);
        for (row, field) in fields.iter().enumerate() {
            if is_missing(field) {
                column.push(None);
                continue;
            }
            match parse_number(field) {
                Some(v) => column.push(Some(v)),
                None => {
                    let why = if field.parse::<f64>().is_ok() {
                        " (not a finite number)"
                    } else {
                        ""
                    };
                    return Err(DataError::parse(
                        table.location(row, c),
                        format!(
                            "cannot parse {field:?} as a number in column {:?}{why}",
                            header[c]
                        ),
                    ));
                }
            }
        }
        if column.iter().all(Option::is_none) {
            return Err(DataError::parse(
                Location::file(table.path()),
                format!(
                    "column {:?} has no values at all ({n} rows, all missing)",
                    header[c]
                ),
            ));
        }
        parsed.push(column);
    }
    let mut labels: Option<Vec<Option<String>>> = label.map(|c| {
        table
            .column(c)
            .unwrap_or(&[])
            .iter()
            .map(|f| (!is_missing(f)).then(|| f.clone()))
            .collect()
    });

    let reports: Vec<MissingReport> = numeric
        .iter()
        .zip(&parsed)
        .map(|(&c, col)| {
            MissingReport::new(&header[c], col.iter().map(Option::is_some), lines, policy)
        })
        .collect();

    // Gaps in the label column.
    if let (Some(c), Some(values)) = (label, &mut labels) {
        let report = MissingReport::new(
            &header[c],
            values.iter().map(Option::is_some),
            lines,
            policy,
        );
        if report.count == n {
            return Err(DataError::parse(
                Location::file(table.path()),
                format!("label column {:?} has no values at all", header[c]),
            ));
        }
        if report.count > 0 {
            match policy {
                MissingPolicy::Error => return Err(missing_values(table, &report)),
                MissingPolicy::Interpolate => {
                    let row = values.iter().position(Option::is_none).unwrap_or(0);
                    return Err(DataError::parse(
                        table.location(row, c),
                        format!(
                            "missing label in column {:?}: labels cannot be interpolated; use ffill or drop",
                            header[c]
                        ),
                    ));
                }
                MissingPolicy::ForwardFill => {
                    let filled = forward_fill(values).map_err(|row| leading_gap(table, row, c))?;
                    *values = filled.into_iter().map(Some).collect();
                }
                MissingPolicy::Drop => {}
            }
        }
    }

    // Gaps in the date column: only `drop` can do anything about them.
    if let Some(d) = &dates
        && policy != MissingPolicy::Drop
        && let Some(row) = d.values.iter().position(Option::is_none)
    {
        return Err(DataError::parse(
            table.location(row, d.index),
            format!(
                "missing date in column {:?}: a row without a date cannot be placed in time; use the drop policy to skip such rows",
                d.name
            ),
        ));
    }

    // Which rows survive, and the filled numeric columns.
    let mut keep = vec![true; n];
    let mut filled: Vec<Vec<f64>> = Vec::with_capacity(parsed.len());
    match policy {
        MissingPolicy::Error => {
            if let Some(report) = reports.iter().find(|r| r.count > 0) {
                return Err(missing_values(table, report));
            }
            filled = parsed
                .iter()
                .map(|c| c.iter().map(|v| v.unwrap_or_default()).collect())
                .collect();
        }
        MissingPolicy::Interpolate => {
            for col in &parsed {
                // Every column has a value (checked above), so this always fills.
                filled.push(interpolate(col).unwrap_or_default());
            }
        }
        MissingPolicy::ForwardFill => {
            for (col, &c) in parsed.iter().zip(numeric) {
                filled.push(forward_fill(col).map_err(|row| leading_gap(table, row, c))?);
            }
        }
        MissingPolicy::Drop => {
            for (row, k) in keep.iter_mut().enumerate() {
                *k = parsed.iter().all(|c| c[row].is_some())
                    && labels.as_ref().is_none_or(|l| l[row].is_some())
                    && dates.as_ref().is_none_or(|d| d.values[row].is_some());
            }
            filled = parsed
                .iter()
                .map(|c| c.iter().map(|v| v.unwrap_or_default()).collect())
                .collect();
        }
    }

    let rows: Vec<usize> = (0..n).filter(|&r| keep[r]).collect();
    if rows.is_empty() {
        return Err(DataError::NotEnoughData(format!(
            "{}: every one of the {n} rows has a missing value in the selected columns, so dropping them leaves nothing",
            table.path().display()
        )));
    }
    let mut values = Vec::with_capacity(rows.len() * filled.len());
    for &r in &rows {
        values.extend(filled.iter().map(|c| c[r]));
    }
    let dates = dates.map(|d| {
        (
            d.name.clone(),
            d.format,
            rows.iter()
                .map(|&r| d.values[r].unwrap_or_default())
                .collect(),
        )
    });
    let labels = labels.map(|l| {
        rows.iter()
            .map(|&r| l[r].clone().unwrap_or_default())
            .collect()
    });
    Ok(Selection {
        values,
        rows,
        reports,
        dates,
        labels,
    })
}

fn missing_values(table: &Table, report: &MissingReport) -> DataError {
    DataError::MissingValues {
        path: table.path().to_path_buf(),
        column: report.column.clone(),
        count: report.count,
        first_lines: report.first_lines.clone(),
    }
}

fn leading_gap(table: &Table, row: usize, column: usize) -> DataError {
    DataError::parse(
        table.location(row, column),
        format!(
            "column {:?} starts with a missing value, which ffill cannot fill (nothing comes before it); use interpolate or drop",
            table.header()[column]
        ),
    )
}

/// The table indices of `names`, each at most once; `what` names them in errors.
pub(crate) fn column_indices(table: &Table, names: &[&str]) -> Result<Vec<usize>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let index = table.column_index(name)?;
        if !seen.insert(index) {
            return Err(DataError::invalid(
                "column selection",
                format!("column {name:?} is selected twice"),
            ));
        }
        out.push(index);
    }
    Ok(out)
}

impl TimeSeries {
    /// Selects the columns of `options` from a table already read: [`load_series`].
    pub fn from_table(table: &Table, options: &SeriesOptions) -> Result<Self> {
        let mut names = vec![options.target.as_str()];
        names.extend(options.covariates.iter().map(String::as_str));
        let numeric = column_indices(table, &names)?;
        for date in options.date_column.iter().flat_map(|d| d.split(',')) {
            let date = date.trim();
            let index = table.column_index(date)?;
            if numeric.contains(&index) {
                return Err(DataError::invalid(
                    "column selection",
                    format!(
                        "column {date:?} is the date column; it cannot also be the target or a covariate"
                    ),
                ));
            }
        }
        let dates = choose_date_column(table, options.date_column.as_deref(), &numeric)?;
        let selection = select(table, &numeric, dates, None, options.missing)?;
        let lines: Vec<usize> = selection.rows.iter().map(|&r| table.lines()[r]).collect();
        let series = Self {
            path: table.path().to_path_buf(),
            columns: names.iter().map(|s| s.to_string()).collect(),
            values: selection.values,
            date_format: selection.dates.as_ref().map(|d| d.1),
            date_column: selection.dates.as_ref().map(|d| d.0.clone()),
            dates: selection.dates.map(|d| d.2),
            dropped_rows: table.n_rows() - lines.len(),
            lines,
            missing: selection.reports,
            policy: options.missing,
        };
        series.warn_unordered();
        for report in series.missing.iter().filter(|r| r.count > 0) {
            tracing::info!("{}: {report}", series.path.display());
        }
        Ok(series)
    }

    /// A series from values in memory: `columns` names (target first) and row-major
    /// `values` (`[time][column]`), which must all be finite and fill whole rows. Its
    /// path is `<input>`, its "lines" the 1-based row numbers, and it has no dates.
    pub fn new(columns: Vec<String>, values: Vec<f64>) -> Result<Self> {
        if columns.is_empty() {
            return Err(DataError::invalid("time series", "no columns"));
        }
        if !values.len().is_multiple_of(columns.len()) {
            return Err(DataError::invalid(
                "time series",
                format!(
                    "{} values do not make whole rows of {} columns",
                    values.len(),
                    columns.len()
                ),
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(DataError::invalid(
                "time series",
                format!(
                    "value {} at row {}, column {:?} is not finite",
                    values[i],
                    i / columns.len(),
                    columns[i % columns.len()]
                ),
            ));
        }
        let rows = values.len() / columns.len();
        Ok(Self {
            path: PathBuf::from(IN_MEMORY),
            missing: columns
                .iter()
                .map(|c| MissingReport::new(c, std::iter::empty(), &[], MissingPolicy::Error))
                .collect(),
            columns,
            values,
            dates: None,
            date_format: None,
            date_column: None,
            lines: (1..=rows).collect(),
            policy: MissingPolicy::Error,
            dropped_rows: 0,
        })
    }

    /// This series with one date per row, shown in `format`.
    pub fn with_dates(mut self, dates: Vec<NaiveDateTime>, format: DateFormat) -> Result<Self> {
        if dates.len() != self.len() {
            return Err(DataError::invalid(
                "dates",
                format!("{} dates for {} rows", dates.len(), self.len()),
            ));
        }
        self.dates = Some(dates);
        self.date_format = Some(format);
        self.warn_unordered();
        Ok(self)
    }

    /// Checks that the dates increase strictly, as a forecast needs (one row per time step,
    /// in order).
    ///
    /// Errors: `FILE:LINE: dates must increase: ... repeats or goes back from ...` at the
    /// first row whose date is not after the one before. A series without dates passes.
    pub fn check_increasing(&self) -> Result<()> {
        if let Some(i) = self.first_unordered() {
            let dates = self.dates.as_deref().unwrap_or_default();
            let show = |t: usize| self.date_label(t).unwrap_or_else(|| dates[t].to_string());
            let line = self.lines.get(i + 1).copied().unwrap_or(0);
            return Err(DataError::parse(
                crate::error::Location::line(&self.path, line),
                format!(
                    "dates must increase for a forecast: {} {} {} (line {}){}",
                    show(i + 1),
                    if dates[i + 1] == dates[i] {
                        "repeats"
                    } else {
                        "goes back from"
                    },
                    show(i),
                    self.lines.get(i).copied().unwrap_or(0),
                    match &self.date_column {
                        Some(c) if !c.contains(',') && dates[i + 1] == dates[i] => format!(
                            "; if the date is spread over columns, name them with --date-columns year,month,day (column {c:?} was read as the date)"
                        ),
                        _ => String::new(),
                    }
                ),
            ));
        }
        Ok(())
    }

    /// The first `i` whose next row's date (row `i + 1`) is not after row `i`'s, if any.
    pub fn first_unordered(&self) -> Option<usize> {
        self.dates.as_ref()?.windows(2).position(|w| w[1] <= w[0])
    }

    fn warn_unordered(&self) {
        if let Some(dates) = &self.dates
            && let Some(i) = dates.windows(2).position(|w| w[1] <= w[0])
        {
            tracing::warn!(
                "{}:{}: dates are not strictly increasing (row {} is not after the one before); rows are kept in file order",
                self.path.display(),
                self.lines.get(i + 1).copied().unwrap_or(0),
                i + 1
            );
        }
    }

    /// The file it was loaded from (`<input>` for [`TimeSeries::new`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of rows (time steps).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no rows (never, for a loaded series).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Number of columns (target plus covariates).
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// Column names: the target, then the covariates.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// All values, row-major: `[len, n_columns]`.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Row `t` (`[n_columns]`); `None` past the end.
    pub fn row(&self, t: usize) -> Option<&[f64]> {
        let n = self.columns.len();
        let start = t.checked_mul(n)?;
        self.values.get(start..start.checked_add(n)?)
    }

    /// Value of row `t`, column `column`; `None` outside.
    pub fn value(&self, t: usize, column: usize) -> Option<f64> {
        if column >= self.columns.len() {
            return None;
        }
        let index = t.checked_mul(self.columns.len())?.checked_add(column)?;
        self.values.get(index).copied()
    }

    /// Column `column` over time (`[len]`); `None` past the last column.
    pub fn column(&self, column: usize) -> Option<Vec<f64>> {
        let n = self.columns.len();
        (column < n).then(|| {
            self.values
                .iter()
                .skip(column)
                .step_by(n)
                .copied()
                .collect()
        })
    }

    /// The target (column 0) over time.
    pub fn target(&self) -> Vec<f64> {
        self.column(0).unwrap_or_default()
    }

    /// One date per row, when the file has a date column.
    pub fn dates(&self) -> Option<&[NaiveDateTime]> {
        self.dates.as_deref()
    }

    /// The format the dates were read in.
    pub fn date_format(&self) -> Option<DateFormat> {
        self.date_format
    }

    /// The name of the date column.
    pub fn date_column(&self) -> Option<&str> {
        self.date_column.as_deref()
    }

    /// Row `t`'s date shown in the file's format.
    pub fn date_label(&self, t: usize) -> Option<String> {
        Some(self.date_format?.format(self.dates.as_ref()?.get(t)?))
    }

    /// The 1-based file line of every row.
    pub fn lines(&self) -> &[usize] {
        &self.lines
    }

    /// One report per column (same order as [`TimeSeries::columns`]): missing values
    /// found and what was done with them.
    pub fn missing(&self) -> &[MissingReport] {
        &self.missing
    }

    /// The missing-value policy applied.
    pub fn policy(&self) -> MissingPolicy {
        self.policy
    }

    /// Rows of the file left out by [`MissingPolicy::Drop`].
    pub fn dropped_rows(&self) -> usize {
        self.dropped_rows
    }
}
