//! What a CSV file holds: its size, rows, and per column the inferred type, the missing
//! values and a summary (range of numbers, first and last date, most frequent labels).
//!
//! The file is read with [`crate::series::Table`], so a ragged row, invalid UTF-8 or an
//! empty file is an error at `FILE:LINE`, as when loading it for training.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::io::read_bytes;
use crate::series::{ColumnType, DateFormat, NameHint, Table, is_missing, parse_number};

/// How many of the most frequent values of a text column the report lists.
pub const TOP_VALUES: usize = 5;

/// The report of [`inspect_csv`]; its [`Display`](fmt::Display) is the printed report.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvReport {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Data rows (the header excluded).
    pub rows: usize,
    /// One report per column, in file order.
    pub columns: Vec<ColumnReport>,
    /// The date spread over `year`, `month`, `day` (and `hour`) columns, when the file has
    /// them: how a forecast reads its dates.
    pub composite_date: Option<CompositeDate>,
}

/// A date read from several columns (see [`CsvReport::composite_date`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeDate {
    /// The columns, joined with commas.
    pub columns: String,
    /// The first date.
    pub first: String,
    /// The last date.
    pub last: String,
    /// The 1-based file line of the first date that repeats or goes back, if any.
    pub first_unordered_line: Option<usize>,
}

/// One column of a [`CsvReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnReport {
    /// The column's name.
    pub name: String,
    /// What it holds (see [`ColumnType`]).
    pub kind: ColumnType,
    /// How many fields are missing (see [`crate::series::MISSING_MARKERS`]).
    pub missing: usize,
    /// The 1-based file line of the first missing field.
    pub first_missing_line: Option<usize>,
    /// A summary of the present values.
    pub summary: ColumnSummary,
}

/// A summary of a column's present values.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSummary {
    /// Numbers.
    Number {
        /// Smallest value.
        min: f64,
        /// Mean.
        mean: f64,
        /// Largest value.
        max: f64,
    },
    /// Dates, in file order.
    Date {
        /// The first date, as written in its format.
        first: String,
        /// The last date.
        last: String,
        /// Whether every date is after the one before.
        increasing: bool,
    },
    /// Text.
    Text {
        /// Number of distinct values.
        distinct: usize,
        /// The [`TOP_VALUES`] most frequent values with their counts, most frequent
        /// first (ties in order of first appearance).
        top: Vec<(String, usize)>,
    },
    /// No value at all.
    Empty,
}

/// Reads the CSV file at `path` and describes it.
///
/// Errors: those of [`Table::read`]: the file cannot be read, is empty, is not UTF-8, has
/// a row with a different number of fields than the header (`FILE:LINE`), or has a
/// header and no row.
pub fn inspect_csv(path: impl AsRef<Path>) -> Result<CsvReport> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    inspect_csv_bytes(path, bytes)
}

/// [`inspect_csv`] on bytes already in memory; `path` names them in the report and in
/// errors.
pub fn inspect_csv_bytes(path: impl AsRef<Path>, bytes: Vec<u8>) -> Result<CsvReport> {
    let size = bytes.len() as u64;
    let table = Table::from_bytes(path, bytes)?;
    for index in 0..table.n_columns() {
        check_column(&table, index)?;
    }
    Ok(CsvReport::from_table(&table, size))
}

/// Fails on a value that does not fit its column: a column whose first value and most
/// values are numbers, or a date-named column whose first value is a date, is expected to
/// hold nothing else (missing markers aside). The error names the line and column of the
/// first value that does not parse.
fn check_column(table: &Table, index: usize) -> Result<()> {
    let Some(values) = table.column(index) else {
        return Ok(());
    };
    let name = &table.header()[index];
    let present: Vec<(usize, &str)> = values
        .iter()
        .enumerate()
        .map(|(row, v)| (row, v.as_str()))
        .filter(|(_, v)| !is_missing(v))
        .collect();
    let Some(&(_, first)) = present.first() else {
        return Ok(());
    };
    if NameHint::of(name).is_date_like()
        && let Some(format) = DateFormat::ALL.iter().find(|f| f.parse(first).is_some())
        && let Some(&(row, bad)) = present.iter().find(|(_, v)| format.parse(v).is_none())
        && !present.iter().all(|(_, v)| parse_number(v).is_some())
    {
        return Err(DataError::parse(
            table.location(row, index),
            format!(
                "cannot parse {bad:?} as a date ({}) in column {name:?}",
                format.pattern()
            ),
        ));
    }
    let numbers = present
        .iter()
        .filter(|(_, v)| parse_number(v).is_some())
        .count();
    if parse_number(first).is_some()
        && numbers * 2 > present.len()
        && let Some(&(row, bad)) = present.iter().find(|(_, v)| parse_number(v).is_none())
    {
        return Err(DataError::parse(
            table.location(row, index),
            format!(
                "cannot parse {bad:?} as a number in column {name:?} ({numbers} of its {} values are numbers)",
                present.len()
            ),
        ));
    }
    Ok(())
}

impl CsvReport {
    /// Describes a table already read; `size` is the file's size in bytes.
    pub fn from_table(table: &Table, size: u64) -> Self {
        let columns = (0..table.n_columns())
            .map(|index| column_report(table, index))
            .collect();
        let composite_date = crate::series::date_part_columns(table, &[])
            .and_then(|indices| crate::series::parse_date_parts(table, &indices).ok())
            .and_then(|parsed| {
                let dated: Vec<(usize, chrono::NaiveDateTime)> = parsed
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(row, d)| d.map(|d| (row, d)))
                    .collect();
                let (first, last) = (dated.first()?, dated.last()?);
                Some(CompositeDate {
                    columns: parsed.name.clone(),
                    first: parsed.format.format(&first.1),
                    last: parsed.format.format(&last.1),
                    first_unordered_line: dated
                        .windows(2)
                        .find(|w| w[1].1 <= w[0].1)
                        .map(|w| table.lines()[w[1].0]),
                })
            });
        Self {
            path: table.path().to_path_buf(),
            size,
            rows: table.n_rows(),
            columns,
            composite_date,
        }
    }
}

fn column_report(table: &Table, index: usize) -> ColumnReport {
    let name = table.header().get(index).cloned().unwrap_or_default();
    let fields = table.column(index).unwrap_or(&[]);
    let kind = table.infer_type(index).unwrap_or(ColumnType::Empty);
    let present: Vec<&str> = fields
        .iter()
        .map(String::as_str)
        .filter(|f| !is_missing(f))
        .collect();
    let first_missing_line = fields
        .iter()
        .position(|f| is_missing(f))
        .and_then(|row| table.lines().get(row).copied());
    let summary = match kind {
        ColumnType::Number => {
            let values: Vec<f64> = present.iter().filter_map(|f| parse_number(f)).collect();
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
            ColumnSummary::Number { min, mean, max }
        }
        ColumnType::Date(format) => {
            let dates: Vec<_> = present.iter().filter_map(|f| format.parse(f)).collect();
            match (dates.first(), dates.last()) {
                (Some(first), Some(last)) => ColumnSummary::Date {
                    first: format.format(first),
                    last: format.format(last),
                    increasing: dates.windows(2).all(|w| w[0] < w[1]),
                },
                _ => ColumnSummary::Empty,
            }
        }
        ColumnType::Text => {
            let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
            for (i, f) in present.iter().enumerate() {
                counts.entry(f).or_insert((0, i)).0 += 1;
            }
            let mut top: Vec<(&str, (usize, usize))> =
                counts.iter().map(|(k, v)| (*k, *v)).collect();
            top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
            ColumnSummary::Text {
                distinct: counts.len(),
                top: top
                    .into_iter()
                    .take(TOP_VALUES)
                    .map(|(k, (n, _))| (k.to_string(), n))
                    .collect(),
            }
        }
        ColumnType::Empty => ColumnSummary::Empty,
    };
    ColumnReport {
        name,
        kind,
        missing: fields.len() - present.len(),
        first_missing_line,
        summary,
    }
}

/// A number in a few significant characters: integers as integers, others with three
/// decimals (trailing zeros dropped), tiny or huge ones in scientific notation.
fn number(x: f64) -> String {
    let abs = x.abs();
    if x.fract() == 0.0 && abs < 1e15 {
        format!("{x:.0}")
    } else if (1e-3..1e15).contains(&abs) {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{x:.3e}")
    }
}

fn size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} bytes")
    } else if b < KIB * KIB {
        format!("{bytes} bytes ({:.1} KiB)", b / KIB)
    } else {
        format!("{bytes} bytes ({:.1} MiB)", b / (KIB * KIB))
    }
}

impl fmt::Display for ColumnSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnSummary::Number { min, mean, max } => write!(
                f,
                "min {}, mean {}, max {}",
                number(*min),
                number(*mean),
                number(*max)
            ),
            ColumnSummary::Date {
                first,
                last,
                increasing,
            } => write!(
                f,
                "{first} .. {last}{}",
                if *increasing {
                    ", increasing"
                } else {
                    ", NOT in increasing order"
                }
            ),
            ColumnSummary::Text { distinct, top } => {
                write!(f, "{distinct} distinct")?;
                if !top.is_empty() {
                    let list: Vec<String> = top.iter().map(|(v, n)| format!("{v:?} {n}")).collect();
                    let more = if *distinct > top.len() { ", …" } else { "" };
                    write!(f, ": {}{more}", list.join(", "))?;
                }
                Ok(())
            }
            ColumnSummary::Empty => f.write_str("no values"),
        }
    }
}

impl fmt::Display for CsvReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: CSV, {}, {} rows, {} columns",
            self.path.display(),
            size(self.size),
            self.rows,
            self.columns.len()
        )?;
        let names: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("{:?}", c.name))
            .collect();
        let kinds: Vec<String> = self.columns.iter().map(|c| c.kind.to_string()).collect();
        let w_name = names
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let w_kind = kinds
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        write!(
            f,
            "  {:<w_name$}  {:<w_kind$}  {:>7}  summary",
            "column", "type", "missing"
        )?;
        for ((column, name), kind) in self.columns.iter().zip(&names).zip(&kinds) {
            write!(
                f,
                "\n  {name:<w_name$}  {kind:<w_kind$}  {:>7}  {}",
                column.missing, column.summary
            )?;
            if let (Some(line), true) = (column.first_missing_line, column.missing > 0) {
                write!(f, "; first missing at line {line}")?;
            }
        }
        if let Some(date) = &self.composite_date {
            write!(
                f,
                "\n  date from columns {}: {} .. {}, ",
                date.columns, date.first, date.last
            )?;
            match date.first_unordered_line {
                None => f.write_str("increasing")?,
                Some(line) => write!(
                    f,
                    "NOT increasing: line {line} repeats or goes back (a forecast refuses it)"
                )?,
            }
        }
        Ok(())
    }
}
