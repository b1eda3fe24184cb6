//! The error type of this crate.

use std::path::PathBuf;

/// Everything a caller of `recurrent-cells` can get wrong: shapes, configurations and files.
///
/// Each variant names what is at fault (the tensor, the file, the shape) so the message can be
/// shown to a user as it is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor does not have the shape the layer expects.
    #[error("{what}: expected shape {expected:?}, got {actual:?}")]
    Shape {
        /// What the tensor is (for example `input` or `h0` or `weight_ih_l0`).
        what: String,
        /// The shape the layer expects.
        expected: Vec<usize>,
        /// The shape that was given.
        actual: Vec<usize>,
    },
    /// A value is outside the range the layer accepts.
    #[error("{what}: {message}")]
    Value {
        /// What the value is.
        what: String,
        /// Why it is not accepted.
        message: String,
    },
    /// A configuration that cannot build a layer.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A weight the layer needs is absent from a state dict.
    #[error("missing tensor `{name}` in the state dict (it has: {available})")]
    MissingTensor {
        /// The PyTorch name of the missing tensor.
        name: String,
        /// The names the state dict has, comma separated.
        available: String,
    },
    /// A state dict holds a weight this layer does not have.
    #[error("unexpected tensor `{name}` in the state dict for this layer")]
    UnexpectedTensor {
        /// The PyTorch name of the tensor.
        name: String,
    },
    /// A tensor of a data type that cannot be converted.
    #[error("tensor `{name}`: unsupported data type {dtype}")]
    DType {
        /// Name of the tensor.
        name: String,
        /// The data type found.
        dtype: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A file is not a valid safetensors file or is not in the expected format.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A shape mismatch of the tensor `what`.
    pub(crate) fn shape(what: impl Into<String>, expected: &[usize], actual: &[usize]) -> Self {
        Self::Shape {
            what: what.into(),
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        }
    }
}
