//! A decoder-only Transformer language model with incremental decoding.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};
use recurrent_cells::StateDict;

use super::FeedForwardActivation;
use super::cache::KvCache;
use super::layers::{TransformerLayers, TransformerLayersConfig};
use super::positions::{PositionKind, Positions};
use crate::decode::StepModel;
use crate::error::{Result, check_size};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of a [`TransformerLm`]: the network only.
#[derive(Config, Debug, PartialEq)]
pub struct TransformerLmConfig {
    /// Vocabulary size (specials included).
    pub vocab: usize,
    /// Size of each step.
    #[config(default = 128)]
    pub d_model: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub n_heads: usize,
    /// Hidden size of the feed-forward networks.
    #[config(default = 512)]
    pub d_ff: usize,
    /// Layers.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Dropout (embeddings, attention weights, residual branches), training only.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// The longest context (positions); generation past it keeps the most recent half.
    #[config(default = 256)]
    pub max_len: usize,
    /// Sinusoidal or learned positions.
    #[config(default = "PositionKind::Sinusoidal")]
    pub positions: PositionKind,
    /// The feed-forward activation.
    #[config(default = "FeedForwardActivation::Gelu")]
    pub activation: FeedForwardActivation,
    /// Pre-norm layers (GPT-2) rather than post-norm.
    #[config(default = true)]
    pub norm_first: bool,
}

impl TransformerLmConfig {
    /// Builds the model on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`TransformerLmConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> TransformerLm {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the model, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<TransformerLm> {
        check_size("vocab", self.vocab)?;
        check_size("max_len", self.max_len)?;
        let layers =
            TransformerLayersConfig::new(self.d_model, self.n_heads, self.d_ff, self.n_layers)
                .with_dropout(self.dropout)
                .with_norm_first(self.norm_first)
                .with_activation(self.activation)
                .try_init(device)?;
        Ok(TransformerLm {
            embed: EmbeddingConfig::new(self.vocab, self.d_model).init(device),
            positions: Positions::new(self.positions, self.max_len, self.d_model, device),
            encoder: layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            head: LinearConfig::new(self.d_model, self.vocab).init(device),
        })
    }
}

/// A decoder-only Transformer language model (GPT-style: causal self-attention):
///
/// ```text
/// ids [batch, seq] ── Embedding + Positions ── Dropout ── TransformerLayers (causal mask)
///   ── Linear ── logits [batch, seq, vocab]
/// ```
///
/// [`TransformerLm::forward`] scores a whole sequence at once (training); generation goes
/// step by step through [`StepModel`], whose state keeps every layer's keys and values
/// ([`KvCache`]) so a step costs one new position, not the whole prefix. Its rows reorder
/// for beam search. Cached and uncached passes give the same logits.
///
/// Weights: `embed.weight`, `positions.weight` (learned positions only),
/// `encoder.layers.K.*` and `encoder.norm.*` (see [`TransformerLayers`]), `head.weight`
/// `[vocab, d_model]`, `head.bias`.
#[derive(Module, Debug)]
pub struct TransformerLm {
    /// Token embeddings.
    pub embed: Embedding,
    /// Positions.
    pub positions: Positions,
    /// The causal layers.
    pub encoder: TransformerLayers,
    /// Dropout on the embeddings.
    pub dropout: Dropout,
    /// The read-out over the vocabulary.
    pub head: Linear,
}

/// What [`TransformerLm`] carries between decoding steps: the keys and values, and the
/// tokens they came from (to rebuild the cache from the recent half when the context is
/// full).
#[derive(Debug, Clone)]
pub struct TransformerLmState {
    /// Keys and values of the steps in the context.
    pub cache: KvCache,
    /// Those steps' tokens, `[rows, cache.len()]`.
    pub tokens: Tensor<2, Int>,
}

impl TransformerLm {
    /// Next-token logits `[batch, seq, vocab]` of `ids` (`[batch, seq]`, `seq` at most
    /// `max_len`).
    ///
    /// Errors: a sequence longer than the model's positions.
    pub fn try_forward(&self, ids: Tensor<2, Int>) -> Result<Tensor<3>> {
        let x = self.positions.try_forward(self.embed.forward(ids), 0)?;
        let h = self.encoder.forward(self.dropout.forward(x), None, true);
        Ok(self.head.forward(h))
    }

    /// [`TransformerLm::try_forward`], panicking on a sequence longer than `max_len`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        self.try_forward(ids).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The logits of `ids` (`[rows, n]`) after the steps in `cache`, extending it.
    ///
    /// Errors: positions past `max_len` (see [`StepModel::step`], which makes room).
    pub fn forward_cached(&self, ids: Tensor<2, Int>, cache: &mut KvCache) -> Result<Tensor<3>> {
        let x = self
            .positions
            .try_forward(self.embed.forward(ids), cache.len())?;
        Ok(self.head.forward(self.encoder.forward_cached(x, cache)))
    }

    /// The longest context.
    pub fn max_len(&self) -> usize {
        self.positions.max_len()
    }
}

impl StepModel for TransformerLm {
    type State = TransformerLmState;

    /// Feeds `ids` after the state's steps. When they would reach past `max_len`, the
    /// context is rebuilt from its most recent `max_len / 2` tokens (and the new ones).
    fn step(
        &self,
        ids: Tensor<2, Int>,
        state: Option<TransformerLmState>,
    ) -> (Tensor<2>, TransformerLmState) {
        let [rows, n] = ids.dims();
        let (mut cache, tokens, ids) = match state {
            Some(s) if s.cache.len() + n <= self.max_len() => {
                let tokens = Tensor::cat(vec![s.tokens, ids.clone()], 1);
                (s.cache, tokens, ids)
            }
            Some(s) => {
                let all = Tensor::cat(vec![s.tokens, ids], 1);
                let total = all.dims()[1];
                let keep = (self.max_len() / 2 + n).min(self.max_len()).min(total);
                let recent = all.narrow(1, total - keep, keep);
                (KvCache::new(), recent.clone(), recent)
            }
            None => {
                let total = ids.dims()[1];
                let keep = total.min(self.max_len());
                let recent = ids.narrow(1, total - keep, keep);
                (KvCache::new(), recent.clone(), recent)
            }
        };
        let logits = self
            .forward_cached(ids, &mut cache)
            .unwrap_or_else(|e| panic!("{e}"));
        let [_, steps, vocab] = logits.dims();
        let last = logits.narrow(1, steps - 1, 1).reshape([rows, vocab]);
        (last, TransformerLmState { cache, tokens })
    }

    fn reorder(state: TransformerLmState, index: Tensor<1, Int>) -> TransformerLmState {
        TransformerLmState {
            tokens: state.tokens.select(0, index.clone()),
            cache: state.cache.reorder(index),
        }
    }
}

impl PytorchWeights for TransformerLm {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.embed.export(&child(prefix, "embed"), what);
        dict.extend(self.positions.export(&child(prefix, "positions"), what));
        dict.extend(self.encoder.export(&child(prefix, "encoder"), what));
        dict.extend(self.head.export(&child(prefix, "head"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.embed = self.embed.load(dict, &child(prefix, "embed"))?;
        self.positions = self.positions.load(dict, &child(prefix, "positions"))?;
        self.encoder = self.encoder.load(dict, &child(prefix, "encoder"))?;
        self.head = self.head.load(dict, &child(prefix, "head"))?;
        Ok(self)
    }
}
