//! A small Transformer on burn's modules: encoder layers (`TransformerEncoderLayer`,
//! `MultiHeadAttention`, `PositionWiseFeedForward`, `LayerNorm`), positions, and what burn
//! lacks: PyTorch's weight names, a key/value cache whose rows can be reordered (beam
//! search), and the task models.
//!
//! - [`TransformerLayers`]: `nn.TransformerEncoder` (pre- or post-norm, ReLU or GELU, a final
//!   LayerNorm after pre-norm layers), with padding masks from lengths and a causal mask;
//!   PyTorch's names (`layers.0.self_attn.in_proj_weight`, `layers.0.linear1.weight`, ...).
//! - [`Positions`]: sinusoidal (Vaswani et al. 2017) or learned positions, from any offset.
//! - [`TransformerLm`]: a decoder-only language model (causal self-attention), decoded
//!   incrementally through a [`KvCache`] ([`crate::decode::StepModel`]).
//! - [`TransformerClassifier`]: an encoder with masked mean pooling and a classification
//!   head; the tagger's `transformer` architecture is in [`crate::models::Tagger`].
//! - [`TransformerSeq2Seq`]: an encoder-decoder (`nn.Transformer`'s layers) for the same
//!   task, training loop and decoders as the recurrent [`crate::models::Seq2Seq`].

mod cache;
mod classifier;
mod layers;
mod lm;
mod positions;
mod seq2seq;
mod weights;

use std::fmt;
use std::str::FromStr;

use burn::nn::activation::ActivationConfig;
use serde::{Deserialize, Serialize};

use crate::error::ZooError;

pub use cache::KvCache;
pub use classifier::{TransformerClassifier, TransformerClassifierConfig};
pub use layers::{
    TransformerLayers, TransformerLayersConfig, causal_mask, encoder_layer, gelu, padding_mask,
};
pub use lm::{TransformerLm, TransformerLmConfig, TransformerLmState};
pub use positions::{PositionKind, Positions};
pub use seq2seq::{TransformerSeq2Seq, TransformerSeq2SeqConfig, decoder_layer};

/// The activation inside the position-wise feed-forward network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedForwardActivation {
    /// `max(0, x)`, PyTorch's default.
    #[default]
    Relu,
    /// The exact (erf) GELU, PyTorch's `activation="gelu"`.
    Gelu,
}

impl FeedForwardActivation {
    pub(crate) fn burn(self) -> ActivationConfig {
        match self {
            Self::Relu => ActivationConfig::Relu,
            Self::Gelu => ActivationConfig::Gelu,
        }
    }
}

impl fmt::Display for FeedForwardActivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Relu => "relu",
            Self::Gelu => "gelu",
        })
    }
}

impl FromStr for FeedForwardActivation {
    type Err = ZooError;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "relu" => Ok(Self::Relu),
            "gelu" => Ok(Self::Gelu),
            other => Err(ZooError::config(
                "activation",
                format!("{other:?} (expected relu or gelu)"),
            )),
        }
    }
}
