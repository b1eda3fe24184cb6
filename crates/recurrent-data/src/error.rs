//! The error type of the data pipelines: every variant that comes from a file names the
//! file, and the line and column where they apply (`FILE:LINE:COLUMN: what is wrong`).

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in the input a problem is: a file (or `<input>` for in-memory data), a 1-based
/// line and optionally a 1-based column (a field index for CSV/CoNLL, a character for
/// text). Displays as `FILE:LINE:COLUMN`, `FILE:LINE` or `FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, or `<input>` when the data did not come from a file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

impl Location {
    /// A whole file.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            line: None,
            column: None,
        }
    }

    /// A line of a file.
    pub fn line(path: impl AsRef<Path>, line: usize) -> Self {
        Self {
            line: Some(line),
            ..Self::file(path)
        }
    }

    /// A column of a line of a file.
    pub fn at(path: impl AsRef<Path>, line: usize, column: usize) -> Self {
        Self {
            line: Some(line),
            column: Some(column),
            ..Self::file(path)
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// The path used in errors about data that did not come from a file.
pub const IN_MEMORY: &str = "<input>";

/// Errors of the data pipelines.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file has no data at all.
    #[error("{}: the file is empty", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A line is not valid UTF-8.
    #[error("{at}: invalid UTF-8 ({detail})")]
    Utf8 {
        /// Where the first bad byte is (column = byte offset in the line, 1-based).
        at: Location,
        /// What the decoder said.
        detail: String,
    },
    /// Malformed content: a ragged row, an unparsable number, a tag line without a tag…
    #[error("{at}: {message}")]
    Parse {
        /// Where.
        at: Location,
        /// What is wrong, in words.
        message: String,
    },
    /// A column asked for by name is not in the file.
    #[error("{}: no column named {column:?} (columns: {})", path.display(), available.join(", "))]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        column: String,
        /// The columns the file has.
        available: Vec<String>,
    },
    /// Missing values under the `error` policy.
    #[error(
        "{}: column {column:?} has {count} missing value(s), first at line(s) {}; choose a missing-value policy (interpolate, ffill or drop) to fill or drop them",
        path.display(),
        first_lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
    )]
    MissingValues {
        /// The file.
        path: PathBuf,
        /// The column with gaps.
        column: String,
        /// How many values are missing in that column.
        count: usize,
        /// 1-based file lines of the first few gaps.
        first_lines: Vec<usize>,
    },
    /// A label (tag or class) that is not in the vocabulary built from the training data.
    #[error("{at}: unknown {kind} {label:?} (known: {})", known.join(", "))]
    UnknownLabel {
        /// Where the label was read.
        at: Location,
        /// `tag`, `class`, …
        kind: &'static str,
        /// The label.
        label: String,
        /// The labels the vocabulary has.
        known: Vec<String>,
    },
    /// A setting or argument that cannot work (zero window, split fractions above one…).
    #[error("invalid {what}: {message}")]
    Invalid {
        /// The setting or argument.
        what: &'static str,
        /// Why, with the offending value.
        message: String,
    },
    /// Too little data for what was asked (a split with no window…).
    #[error("not enough data: {0}")]
    NotEnoughData(String),
    /// A JSON file (vocabulary, scaler) that does not parse.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error (with line and column).
        source: serde_json::Error,
    },
    /// An error from the cells crate (atomic writes).
    #[error(transparent)]
    Cells(#[from] recurrent_cells::Error),
}

impl DataError {
    /// A [`DataError::Parse`] at `at`.
    pub fn parse(at: Location, message: impl Into<String>) -> Self {
        Self::Parse {
            at,
            message: message.into(),
        }
    }

    /// A [`DataError::Invalid`] for setting `what`.
    pub fn invalid(what: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            message: message.into(),
        }
    }
}

/// Result with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
