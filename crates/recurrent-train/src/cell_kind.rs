//! Which recurrent layer a task builds: `rnn` (SimpleRNN, tanh), `lstm` or `gru`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// The recurrent layer of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// Elman RNN (Keras' SimpleRNN) with tanh.
    Rnn,
    /// Long short-term memory.
    Lstm,
    /// Gated recurrent unit (PyTorch's variant, reset gate after the matmul).
    Gru,
}

impl FromStr for CellKind {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self, TrainError> {
        match s.to_ascii_lowercase().as_str() {
            "rnn" | "simplernn" => Ok(Self::Rnn),
            "lstm" => Ok(Self::Lstm),
            "gru" => Ok(Self::Gru),
            other => Err(TrainError::invalid(
                "cell",
                format!("{other:?} (expected rnn, lstm or gru)"),
            )),
        }
    }
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rnn => "rnn",
            Self::Lstm => "lstm",
            Self::Gru => "gru",
        })
    }
}
