//! A language model of either family, for code that trains and decodes both.

use burn::module::Module;
use burn::tensor::{Int, Tensor};
use recurrent_cells::StateDict;

use super::char_lm::CharLm;
use crate::decode::StepModel;
use crate::error::Result;
use crate::stack::StackState;
use crate::transformer::{TransformerLm, TransformerLmState};
use crate::weights::{Export, PytorchWeights};

/// A recurrent [`CharLm`] or a [`TransformerLm`]: same inputs (token ids), same outputs
/// (next-token logits), same decoding ([`StepModel`]). Its weights are the inner model's.
// A run holds one model: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum LanguageModel {
    /// Embedding, recurrent stack, read-out.
    Recurrent(CharLm),
    /// A decoder-only Transformer.
    Transformer(TransformerLm),
}

/// The decoding state of a [`LanguageModel`].
// One state per decoding, moved from step to step: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum LanguageModelState {
    /// The recurrent layers' states.
    Recurrent(StackState),
    /// The Transformer's key/value cache.
    Transformer(TransformerLmState),
}

impl LanguageModel {
    /// Next-token logits `[batch, seq, vocab]` of `ids` (`[batch, seq]`), from the start.
    ///
    /// Panics for a Transformer when `seq` is above its `max_len` (the training windows are
    /// checked against it when the model is built).
    pub fn logits(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        match self {
            Self::Recurrent(m) => m.forward(ids, None).0,
            Self::Transformer(m) => m.forward(ids),
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

impl StepModel for LanguageModel {
    type State = LanguageModelState;

    fn step(
        &self,
        ids: Tensor<2, Int>,
        state: Option<LanguageModelState>,
    ) -> (Tensor<2>, LanguageModelState) {
        match self {
            Self::Recurrent(m) => {
                let state = state.map(|s| match s {
                    LanguageModelState::Recurrent(s) => s,
                    LanguageModelState::Transformer(_) => panic!("a recurrent model's state"),
                });
                let (logits, state) = m.step(ids, state);
                (logits, LanguageModelState::Recurrent(state))
            }
            Self::Transformer(m) => {
                let state = state.map(|s| match s {
                    LanguageModelState::Transformer(s) => s,
                    LanguageModelState::Recurrent(_) => panic!("a Transformer's state"),
                });
                let (logits, state) = m.step(ids, state);
                (logits, LanguageModelState::Transformer(state))
            }
        }
    }

    fn reorder(state: LanguageModelState, index: Tensor<1, Int>) -> LanguageModelState {
        match state {
            LanguageModelState::Recurrent(s) => {
                LanguageModelState::Recurrent(CharLm::reorder(s, index))
            }
            LanguageModelState::Transformer(s) => {
                LanguageModelState::Transformer(TransformerLm::reorder(s, index))
            }
        }
    }
}

impl PytorchWeights for LanguageModel {
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
