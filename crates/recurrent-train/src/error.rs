//! The error type of the training crate: errors about files name the file, errors about
//! the training loop name the epoch and step, and errors about arguments name the argument
//! and the offending value.

use std::path::PathBuf;

use recurrent_data::DataError;

/// Errors of the training support code.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The loss was NaN or infinite: training stops, and the last checkpoint that was
    /// completed stays the one a resume starts from.
    #[error("loss became {value} at epoch {epoch}, step {step}; the last good checkpoint is kept")]
    NonFiniteLoss {
        /// The loss (NaN, `inf` or `-inf`).
        value: f64,
        /// The epoch it happened in.
        epoch: usize,
        /// The step (batch) of that epoch.
        step: usize,
    },
    /// Two inputs that must pair up element by element have different lengths.
    #[error("{what}: lengths differ ({left} vs {right})")]
    LengthMismatch {
        /// The inputs, e.g. `actual vs forecast`.
        what: &'static str,
        /// The length of the first.
        left: usize,
        /// The length of the second.
        right: usize,
    },
    /// There is nothing to compute over (an empty slice, every position masked out…).
    #[error("{what}: no values to compute over")]
    Empty {
        /// What was empty, e.g. `mae`.
        what: &'static str,
    },
    /// A value or argument that cannot work (a zero season, a class id out of range,
    /// a zero MASE scale…).
    #[error("invalid {what}: {message}")]
    Invalid {
        /// The argument or quantity.
        what: &'static str,
        /// Why, with the offending value.
        message: String,
    },
    /// A new run was asked for in a directory that already holds files.
    #[error(
        "{}: the run directory exists and is not empty; resume the run or choose another directory",
        path.display()
    )]
    RunDirNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// A run directory to resume from does not exist, or the path is not a directory.
    #[error("{}: not a run directory ({reason})", path.display())]
    NotARunDir {
        /// The path.
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
    /// A file or directory could not be read, written or created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A value could not be written as JSON.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file being written.
        path: PathBuf,
        /// The serializer's error.
        source: serde_json::Error,
    },
    /// An error from the data crate (atomic writes, reading series).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A model that cannot be built, run or loaded (a setting, a shape, a weight).
    #[error(transparent)]
    Model(#[from] recurrent_zoo::ZooError),
    /// A weights file that cannot be read or written.
    #[error(transparent)]
    Weights(#[from] recurrent_cells::Error),
    /// Weights in a file that do not fit the model (a tensor missing, mis-shaped or
    /// unexpected).
    #[error("{}: {source}", path.display())]
    ModelFile {
        /// The weights file.
        path: PathBuf,
        /// What does not fit.
        source: recurrent_zoo::ZooError,
    },
    /// A run configuration (`config.toml`) that cannot be read or written.
    #[error("{}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl TrainError {
    /// A [`TrainError::Invalid`] for `what`.
    pub fn invalid(what: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            message: message.into(),
        }
    }
}

/// Result with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// Checks that `left` and `right` have the same length, or [`TrainError::LengthMismatch`].
pub(crate) fn same_len(what: &'static str, left: usize, right: usize) -> Result<()> {
    if left == right {
        Ok(())
    } else {
        Err(TrainError::LengthMismatch { what, left, right })
    }
}
