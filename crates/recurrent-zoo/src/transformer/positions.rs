//! Where each step is: sinusoidal or learned positions added to the embeddings.

use std::fmt;
use std::str::FromStr;

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, PositionalEncoding, PositionalEncodingConfig};
use burn::tensor::{Device, Int, Tensor};
use recurrent_cells::StateDict;
use serde::{Deserialize, Serialize};

use crate::error::{Result, ZooError};
use crate::weights::{Export, PytorchWeights};

/// How positions are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionKind {
    /// Fixed sinusoids (Vaswani et al. 2017), burn's [`PositionalEncoding`].
    #[default]
    Sinusoidal,
    /// A learned embedding per position (GPT).
    Learned,
}

impl fmt::Display for PositionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sinusoidal => "sinusoidal",
            Self::Learned => "learned",
        })
    }
}

impl FromStr for PositionKind {
    type Err = ZooError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "sinusoidal" => Ok(Self::Sinusoidal),
            "learned" => Ok(Self::Learned),
            other => Err(ZooError::config(
                "positions",
                format!("{other:?} (expected sinusoidal or learned)"),
            )),
        }
    }
}

/// Positions `offset..offset + seq` added to `[batch, seq, d_model]` inputs, up to
/// `max_len` positions.
///
/// Weights: `weight` `[max_len, d_model]` when learned; none when sinusoidal.
// A model holds one of these: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Positions {
    /// Fixed sinusoids.
    Sinusoidal(PositionalEncoding),
    /// A learned table.
    Learned(Embedding),
}

impl Positions {
    /// Positions of `kind` for `max_len` steps of `d_model` features.
    pub fn new(kind: PositionKind, max_len: usize, d_model: usize, device: &Device) -> Self {
        match kind {
            PositionKind::Sinusoidal => Self::Sinusoidal(
                PositionalEncodingConfig::new(d_model)
                    .with_max_sequence_size(max_len)
                    .init(device),
            ),
            PositionKind::Learned => {
                Self::Learned(EmbeddingConfig::new(max_len, d_model).init(device))
            }
        }
    }

    /// How many positions there are.
    pub fn max_len(&self) -> usize {
        match self {
            Self::Sinusoidal(p) => p.max_sequence_size,
            Self::Learned(e) => e.weight.val().dims()[0],
        }
    }

    /// `x` (`[batch, seq, d_model]`) plus the encodings of positions `offset..offset + seq`.
    ///
    /// Errors: positions past `max_len`.
    pub fn try_forward(&self, x: Tensor<3>, offset: usize) -> Result<Tensor<3>> {
        let [batch, seq, d_model] = x.dims();
        if offset + seq > self.max_len() {
            return Err(ZooError::value(
                "positions",
                format!(
                    "steps {offset}..{} reach past the model's {} positions",
                    offset + seq,
                    self.max_len()
                ),
            ));
        }
        let table = match self {
            Self::Sinusoidal(p) => p
                .sinusoids
                .clone()
                .narrow(1, offset, seq)
                .expand([batch, seq, d_model]),
            Self::Learned(e) => {
                let ids =
                    Tensor::<1, Int>::arange(offset as i64..(offset + seq) as i64, &x.device());
                e.forward(ids.reshape([1, seq]))
                    .expand([batch, seq, d_model])
            }
        };
        Ok(x + table)
    }
}

impl PytorchWeights for Positions {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        match self {
            Self::Sinusoidal(_) => StateDict::default(),
            Self::Learned(e) => e.export(prefix, what),
        }
    }

    fn load(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        Ok(match self {
            Self::Sinusoidal(p) => Self::Sinusoidal(p),
            Self::Learned(e) => Self::Learned(e.load(dict, prefix)?),
        })
    }
}
