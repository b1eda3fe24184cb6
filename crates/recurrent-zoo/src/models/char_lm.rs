//! A character- (or token-) level language model.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig};
use burn::tensor::{Device, Int, Tensor};
use recurrent_cells::{RnnActivation, StateDict};

use crate::decode::StepModel;
use crate::error::{Result, check_rate, check_size};
use crate::heads::{LanguageModelHead, LanguageModelHeadConfig};
use crate::recurrent::RecurrentKind;
use crate::stack::{RecurrentStack, RecurrentStackConfig, StackState};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of a [`CharLm`]: the network only (no data, no training settings).
#[derive(Config, Debug, PartialEq)]
pub struct CharLmConfig {
    /// Vocabulary size (characters, specials included).
    pub vocab: usize,
    /// Embedding size.
    #[config(default = 32)]
    pub d_embed: usize,
    /// The recurrent cell.
    #[config(default = "RecurrentKind::Lstm")]
    pub kind: RecurrentKind,
    /// Hidden size of each recurrent layer.
    #[config(default = 256)]
    pub d_hidden: usize,
    /// Recurrent layers.
    #[config(default = 1)]
    pub n_layers: usize,
    /// Residual connections around every recurrent layer (the first through a linear
    /// projection from `d_embed` to `d_hidden` when they differ).
    #[config(default = false)]
    pub residual: bool,
    /// Dropout between the recurrent layers and before the read-out, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Variational recurrent dropout inside the recurrent layers, training only.
    #[config(default = 0.0)]
    pub recurrent_dropout: f64,
}

impl CharLmConfig {
    /// Builds the model on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`CharLmConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> CharLm {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the model, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<CharLm> {
        check_size("vocab", self.vocab)?;
        check_size("d_embed", self.d_embed)?;
        check_size("d_hidden", self.d_hidden)?;
        check_size("n_layers", self.n_layers)?;
        check_rate("dropout", self.dropout)?;
        let rnn =
            RecurrentStackConfig::uniform(self.kind, self.d_embed, self.d_hidden, self.n_layers)
                .with_residual(self.residual)
                .with_dropout(self.dropout)
                .with_recurrent_dropout(self.recurrent_dropout)
                .with_activation(RnnActivation::Tanh)
                .try_init(device)?;
        Ok(CharLm {
            embed: EmbeddingConfig::new(self.vocab, self.d_embed).init(device),
            rnn,
            dropout: DropoutConfig::new(self.dropout).init(),
            head: LanguageModelHeadConfig::new(self.d_hidden, self.vocab).try_init(device)?,
        })
    }
}

/// A language model over token ids:
///
/// ```text
/// ids [batch, seq] ── Embedding ── RecurrentStack (rnn | lstm | gru | ln-lstm; residual,
///   recurrent dropout) ── Dropout ── LanguageModelHead ── logits [batch, seq, vocab]
/// ```
///
/// It decodes step by step through [`StepModel`] (see [`crate::decode::generate`]).
///
/// Weights: `embed.weight`, `rnn.layers.K.weight_ih_l0`, ... (see [`RecurrentStack`]),
/// `head.weight` `[vocab, d_hidden]`, `head.bias`.
#[derive(Module, Debug)]
pub struct CharLm {
    /// Token embeddings.
    pub embed: Embedding,
    /// The recurrent layers.
    pub rnn: RecurrentStack,
    /// Dropout before the read-out.
    pub dropout: Dropout,
    /// The read-out over the vocabulary.
    pub head: LanguageModelHead,
}

impl CharLm {
    /// Next-token logits `[batch, seq, vocab]` of `ids` (`[batch, seq]`) from `state` (zeros
    /// when `None`), and the state after the last step.
    pub fn forward(
        &self,
        ids: Tensor<2, Int>,
        state: Option<StackState>,
    ) -> (Tensor<3>, StackState) {
        let x = self.embed.forward(ids);
        let (h, state) = self.rnn.forward(x, state);
        (self.head.forward(self.dropout.forward(h)), state)
    }
}

impl StepModel for CharLm {
    type State = StackState;

    fn step(&self, ids: Tensor<2, Int>, state: Option<StackState>) -> (Tensor<2>, StackState) {
        let (logits, state) = self.forward(ids, state);
        let [k, n, vocab] = logits.dims();
        (logits.narrow(1, n - 1, 1).reshape([k, vocab]), state)
    }

    fn reorder(state: StackState, index: Tensor<1, Int>) -> StackState {
        state.select_batch(index)
    }
}

impl PytorchWeights for CharLm {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.embed.export(&child(prefix, "embed"), what);
        dict.extend(self.rnn.export(&child(prefix, "rnn"), what));
        dict.extend(self.head.export(&child(prefix, "head"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.embed = self.embed.load(dict, &child(prefix, "embed"))?;
        self.rnn = self.rnn.load(dict, &child(prefix, "rnn"))?;
        self.head = self.head.load(dict, &child(prefix, "head"))?;
        Ok(self)
    }
}
