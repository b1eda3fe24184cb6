//! CSV tables: a header and the raw text of every field, column by column, with the file
//! line of every row, read with the `csv` crate.
//!
//! The reader is lenient about the shape of rows (`flexible`) so that this module, not the
//! `csv` crate, reports a ragged row as `FILE:LINE: expected N fields like the header,
//! found M`. Fields are trimmed of surrounding whitespace. Blank (and whitespace-only)
//! lines are skipped, but line numbers still count them, so every error names the line an
//! editor shows. Invalid UTF-8 is reported at `FILE:LINE:COLUMN` of the first bad byte.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Location, Result};
use crate::io::{read_bytes, text_from_bytes};

use super::dates::{DateFormat, NameHint};
use super::missing::is_missing;

/// A CSV file held in memory: header names and the raw (trimmed) text of every field,
/// stored column by column, with the 1-based file line of every data row.
///
/// Invariants: every column has [`Table::n_rows`] fields; there is at least one data row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    path: PathBuf,
    header: Vec<String>,
    header_line: usize,
    columns: Vec<Vec<String>>,
    lines: Vec<usize>,
}

impl Table {
    /// Reads the CSV file at `path`; the first non-blank line is the header.
    ///
    /// Errors: [`DataError::Io`] when the file cannot be read, [`DataError::Empty`] for an
    /// empty (or whitespace-only) file, [`DataError::Utf8`] at the first invalid byte,
    /// [`DataError::Parse`] at `FILE:LINE` for a row whose number of fields differs from
    /// the header's, for a header without any data row, and at `FILE:1:COL` for a column
    /// name given twice.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_bytes(path)?;
        Self::from_bytes(path, bytes)
    }

    /// [`Table::read`] on bytes already in memory; `path` is only used in errors.
    pub fn from_bytes(path: impl AsRef<Path>, bytes: Vec<u8>) -> Result<Self> {
        let path = path.as_ref();
        let text = text_from_bytes(path, bytes)?;
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(text.as_bytes());

        let mut header: Option<(Vec<String>, usize)> = None;
        let mut columns: Vec<Vec<String>> = Vec::new();
        let mut lines = Vec::new();
        let lines_at = LineIndex::new(&text);
        let mut record = ::csv::StringRecord::new();
        loop {
            let more = reader.read_record(&mut record).map_err(|err| {
                let line = err.position().map_or(0, |p| lines_at.line(p.byte()));
                DataError::parse(location_line(path, line), format!("malformed CSV: {err}"))
            })?;
            if !more {
                break;
            }
            let line = record.position().map_or(0, |p| lines_at.line(p.byte()));
            if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
                // A whitespace-only line (the csv crate already skips empty ones).
                continue;
            }
            match &header {
                None => {
                    let names: Vec<String> = record.iter().map(str::to_string).collect();
                    for (i, name) in names.iter().enumerate() {
                        if name.is_empty() {
                            continue;
                        }
                        if let Some(first) = names[..i].iter().position(|n| n == name) {
                            return Err(DataError::parse(
                                Location::at(path, line, i + 1),
                                format!(
                                    "column name {name:?} is given twice (columns {} and {})",
                                    first + 1,
                                    i + 1
                                ),
                            ));
                        }
                    }
                    columns = vec![Vec::new(); names.len()];
                    header = Some((names, line));
                }
                Some((names, _)) => {
                    if record.len() != names.len() {
                        return Err(DataError::parse(
                            Location::line(path, line),
                            format!(
                                "expected {} field{} like the header, found {}",
                                names.len(),
                                if names.len() == 1 { "" } else { "s" },
                                record.len()
                            ),
                        ));
                    }
                    for (column, field) in columns.iter_mut().zip(record.iter()) {
                        column.push(field.to_string());
                    }
                    lines.push(line);
                }
            }
        }
        let Some((header, header_line)) = header else {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
            });
        };
        if lines.is_empty() {
            return Err(DataError::parse(
                Location::line(path, header_line),
                "the file has a header but no data rows",
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            header,
            header_line,
            columns,
            lines,
        })
    }

    /// The file the table was read from (used in errors).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Column names, in file order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The 1-based file line of the header.
    pub fn header_line(&self) -> usize {
        self.header_line
    }

    /// Number of data rows (the header excluded).
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// Number of columns.
    pub fn n_columns(&self) -> usize {
        self.header.len()
    }

    /// The trimmed raw fields of column `index`, one per data row; `None` past the last
    /// column.
    pub fn column(&self, index: usize) -> Option<&[String]> {
        self.columns.get(index).map(Vec::as_slice)
    }

    /// The 1-based file line of every data row.
    pub fn lines(&self) -> &[usize] {
        &self.lines
    }

    /// The index of the column named `name` (exact match, after trimming the header);
    /// [`DataError::UnknownColumn`] listing the available names otherwise.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| DataError::UnknownColumn {
                path: self.path.clone(),
                column: name.to_string(),
                available: self.header.clone(),
            })
    }

    /// `FILE:LINE:COLUMN` of data row `row` (0-based) and column `column` (0-based); the
    /// displayed column is the 1-based field number.
    pub fn location(&self, row: usize, column: usize) -> Location {
        Location::at(
            &self.path,
            self.lines.get(row).copied().unwrap_or(0),
            column + 1,
        )
    }

    /// What column `index` holds, judged from its values and name: see [`ColumnType`].
    /// `None` past the last column.
    pub fn infer_type(&self, index: usize) -> Option<ColumnType> {
        let values = self.column(index)?;
        let name = &self.header[index];
        let present: Vec<&str> = values
            .iter()
            .map(String::as_str)
            .filter(|v| !is_missing(v))
            .collect();
        if present.is_empty() {
            return Some(ColumnType::Empty);
        }
        if let Some(format) = DateFormat::detect(present.iter().copied(), NameHint::of(name)) {
            return Some(ColumnType::Date(format));
        }
        if present.iter().all(|v| parse_number(v).is_some()) {
            return Some(ColumnType::Number);
        }
        Some(ColumnType::Text)
    }
}

/// Maps byte offsets of a text to 1-based line numbers.
///
/// The `csv` crate's own line counter stands before the blank lines it skips and, with
/// CRLF endings, before the `\n` of the previous line; a record's byte offset has the same
/// quirks. So the record starts at the first byte at or after that offset that is not a
/// line break, and its line is one more than the line feeds before it.
struct LineIndex<'a> {
    text: &'a [u8],
    feeds: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let text = text.as_bytes();
        let feeds = (0..text.len()).filter(|&i| text[i] == b'\n').collect();
        Self { text, feeds }
    }

    fn line(&self, byte: u64) -> usize {
        let mut at = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while at < self.text.len() && matches!(self.text[at], b'\r' | b'\n') {
            at += 1;
        }
        self.feeds.partition_point(|&p| p < at) + 1
    }
}

/// `FILE:LINE`, or `FILE` when the line is unknown (0).
fn location_line(path: &Path, line: usize) -> Location {
    if line == 0 {
        Location::file(path)
    } else {
        Location::line(path, line)
    }
}

/// What a column holds, as [`Table::infer_type`] judges it. Missing values (see
/// [`crate::series::MISSING_MARKERS`]) are ignored when judging.
///
/// - `Date` when every present value parses with one [`DateFormat`]. The all-digit
///   formats are only tried on columns whose name says so: `%Y` on a column named like
///   `year`, `%Y%m%d` on a column named like a date (`date`, `time`, `timestamp`, `ds`,
///   `month`, `day`, `year` or containing `date`), so that a column of plain integers
///   stays a number.
/// - `Number` when every present value is a finite number.
/// - `Text` otherwise; `Empty` when every value is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Finite numbers.
    Number,
    /// Dates or date-times in one format.
    Date(DateFormat),
    /// Anything else (labels, names…).
    Text,
    /// Only missing values.
    Empty,
}

impl ColumnType {
    /// `number`, `date`, `text` or `empty`.
    pub fn name(&self) -> &'static str {
        match self {
            ColumnType::Number => "number",
            ColumnType::Date(_) => "date",
            ColumnType::Text => "text",
            ColumnType::Empty => "empty",
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Date(format) => write!(f, "date ({})", format.pattern()),
            other => f.write_str(other.name()),
        }
    }
}

/// Parses a trimmed field as a finite number (Rust's float syntax: `12`, `-3.5`, `1e-3`,
/// `.5`); `None` for anything else, infinities included. Missing markers are not
/// numbers: check [`is_missing`] first.
pub fn parse_number(field: &str) -> Option<f64> {
    let value: f64 = field.parse().ok()?;
    value.is_finite().then_some(value)
}
