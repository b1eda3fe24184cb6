//! The error type of the zoo: configurations that cannot build a model, inputs of the wrong
//! shape, and weights that do not fit.

/// Everything a caller of `recurrent-zoo` can get wrong. Each variant names what is at
/// fault (the setting, the tensor, the shape), so the message can be shown as it is.
#[derive(Debug, thiserror::Error)]
pub enum ZooError {
    /// An error of a recurrent layer (its configuration, its input or its weights).
    #[error(transparent)]
    Cells(#[from] recurrent_cells::Error),
    /// A configuration that cannot build a model.
    #[error("invalid configuration: {what}: {message}")]
    Config {
        /// The setting at fault, e.g. `d_hidden` or `merge`.
        what: String,
        /// Why, with the offending value.
        message: String,
    },
    /// An input tensor of the wrong shape.
    #[error("{what}: expected shape {expected}, got {actual:?}")]
    Shape {
        /// The input, e.g. `query` or `lengths`.
        what: String,
        /// The shape the model expects, in words where a size is free (`[batch, seq, 8]`).
        expected: String,
        /// The shape that was given.
        actual: Vec<usize>,
    },
    /// An input value the model cannot take.
    #[error("{what}: {message}")]
    Value {
        /// The input, e.g. `state` or `lengths[2]`.
        what: String,
        /// Why, with the offending value.
        message: String,
    },
    /// A weight the model needs is absent from a state dict.
    #[error("missing tensor `{name}` in the state dict")]
    MissingTensor {
        /// Its name.
        name: String,
    },
    /// A weight of the wrong shape in a state dict.
    #[error("tensor `{name}` has shape {actual:?}, the model needs {expected:?}")]
    TensorShape {
        /// Its name.
        name: String,
        /// The shape the model needs (PyTorch's layout).
        expected: Vec<usize>,
        /// The shape in the state dict.
        actual: Vec<usize>,
    },
    /// A state dict holds a weight the model does not have (as PyTorch's
    /// `load_state_dict(strict=True)` refuses it).
    #[error("unexpected tensor `{name}` in the state dict: this model has no such weight")]
    UnexpectedTensor {
        /// Its name.
        name: String,
    },
}

impl ZooError {
    /// A [`ZooError::Config`] for the setting `what`.
    pub fn config(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            what: what.into(),
            message: message.into(),
        }
    }

    /// A [`ZooError::Value`] for the input `what`.
    pub fn value(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Value {
            what: what.into(),
            message: message.into(),
        }
    }

    /// A [`ZooError::Shape`] for the input `what`.
    pub fn shape(what: impl Into<String>, expected: impl Into<String>, actual: &[usize]) -> Self {
        Self::Shape {
            what: what.into(),
            expected: expected.into(),
            actual: actual.to_vec(),
        }
    }
}

/// Result with [`ZooError`].
pub type Result<T, E = ZooError> = std::result::Result<T, E>;

/// Checks that a dropout-like probability is in `[0, 1)`.
pub(crate) fn check_rate(what: &str, p: f64) -> Result<()> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(ZooError::config(what, format!("{p} (must be in [0, 1))")))
    }
}

/// Checks that a size is at least 1.
pub(crate) fn check_size(what: &str, n: usize) -> Result<()> {
    if n == 0 {
        Err(ZooError::config(what, "0 (must be at least 1)"))
    } else {
        Ok(())
    }
}
