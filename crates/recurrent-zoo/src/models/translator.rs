//! A sequence-to-sequence model of either family, for code that trains and decodes both.

use burn::module::Module;
use burn::tensor::{Int, Tensor};
use recurrent_cells::StateDict;

use super::seq2seq::{Seq2Seq, Seq2SeqOutput};
use crate::error::Result;
use crate::search::{Limits, Search};
use crate::transformer::TransformerSeq2Seq;
use crate::weights::{Export, PytorchWeights};

/// A recurrent [`Seq2Seq`] with attention or a [`TransformerSeq2Seq`]: same inputs, outputs
/// (logits and attention weights), training (teacher forcing, scheduled sampling) and
/// decoding ([`Search`]). Its weights are the inner model's.
#[derive(Module, Debug)]
pub enum Translator {
    /// Recurrent encoder and decoder with attention.
    Recurrent(Seq2Seq),
    /// A Transformer encoder-decoder.
    Transformer(TransformerSeq2Seq),
}

impl Translator {
    /// See [`Seq2Seq::forward`] and [`TransformerSeq2Seq::forward`].
    pub fn forward(
        &self,
        src: Tensor<2, Int>,
        src_lengths: &[usize],
        tgt_in: Tensor<2, Int>,
        teacher_forcing: f64,
        seed: u64,
    ) -> Result<Seq2SeqOutput> {
        match self {
            Self::Recurrent(m) => m.forward(src, src_lengths, tgt_in, teacher_forcing, seed),
            Self::Transformer(m) => m.forward(src, src_lengths, tgt_in, teacher_forcing, seed),
        }
    }

    /// See [`Seq2Seq::translate`] and [`TransformerSeq2Seq::translate`].
    pub fn translate(
        &self,
        src: Tensor<2, Int>,
        src_lengths: &[usize],
        search: Search,
        limits: Limits,
    ) -> Result<Vec<Vec<u32>>> {
        match self {
            Self::Recurrent(m) => m.translate(src, src_lengths, search, limits),
            Self::Transformer(m) => m.translate(src, src_lengths, search, limits),
        }
    }

    /// The family's name: `recurrent` or `transformer`.
    pub fn family(&self) -> &'static str {
        match self {
            Self::Recurrent(_) => "recurrent",
            Self::Transformer(_) => "transformer",
        }
    }
}

impl PytorchWeights for Translator {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        match self {
            Self::Recurrent(m) => m.export(prefix, what),
            Self::Transformer(m) => m.export(prefix, what),
        }
    }

    fn load(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        Ok(match self {
            Self::Recurrent(m) => Self::Recurrent(m.load(dict, prefix)?),
            Self::Transformer(m) => Self::Transformer(m.load(dict, prefix)?),
        })
    }
}
