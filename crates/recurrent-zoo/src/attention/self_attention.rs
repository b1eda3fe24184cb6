//! Multi-head self-attention over a sequence with padding, and a recurrent layer followed by
//! it.

use burn::config::Config;
use burn::module::Module;
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Int, Tensor};
use recurrent_cells::{SequenceInput, StateDict, lengths_to_mask};

use crate::error::{Result, ZooError, check_rate, check_size};
use crate::recurrent::{Recurrent, RecurrentConfig, RecurrentState};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of a [`SelfAttentionBlock`].
#[derive(Config, Debug, PartialEq)]
pub struct SelfAttentionBlockConfig {
    /// Size of each step.
    pub d_model: usize,
    /// Attention heads (`d_model` must be a multiple).
    #[config(default = 4)]
    pub n_heads: usize,
    /// Dropout on the attention weights and on the attention's output, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl SelfAttentionBlockConfig {
    /// Builds the block, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<SelfAttentionBlock> {
        check_size("d_model", self.d_model)?;
        check_size("n_heads", self.n_heads)?;
        check_rate("attention dropout", self.dropout)?;
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(ZooError::config(
                "n_heads",
                format!(
                    "{} does not divide the model size {}",
                    self.n_heads, self.d_model
                ),
            ));
        }
        Ok(SelfAttentionBlock {
            attention: MultiHeadAttentionConfig::new(self.d_model, self.n_heads)
                .with_dropout(self.dropout)
                .init(device),
            norm: LayerNormConfig::new(self.d_model).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// Multi-head self-attention with a residual sum and LayerNorm (post-norm, as the
/// Transformer's encoder layer), on burn's [`MultiHeadAttention`] with `mask_pad` from the
/// lengths:
///
/// ```text
/// y = LayerNorm(x + Dropout(MHA(x, x, x, padding masked)))    [batch, seq, d_model]
/// ```
///
/// Every step attends over the valid steps of its own sequence only; padding outputs are
/// exactly 0.
///
/// Weights: `attention.query.*`, `.key.*`, `.value.*`, `.output.*`; `norm.weight`,
/// `norm.bias`.
#[derive(Module, Debug)]
pub struct SelfAttentionBlock {
    /// The attention.
    pub attention: MultiHeadAttention,
    /// LayerNorm after the residual sum.
    pub norm: LayerNorm,
    /// Dropout on the attention's output.
    pub dropout: Dropout,
}

impl SelfAttentionBlock {
    /// Runs over `x` (`[batch, seq, d_model]`) with `lengths` (`[batch]`) respected.
    pub fn forward(&self, x: Tensor<3>, lengths: Option<Tensor<1, Int>>) -> Tensor<3> {
        let [batch, seq, d] = x.dims();
        let padding = lengths.map(|l| lengths_to_mask(l, seq).bool_not());
        let mut mha = MhaInput::self_attn(x.clone());
        if let Some(pad) = &padding {
            mha = mha.mask_pad(pad.clone());
        }
        let attended = self.attention.forward(mha).context;
        let y = self.norm.forward(x + self.dropout.forward(attended));
        match padding {
            Some(pad) => y.mask_fill(pad.unsqueeze_dim::<3>(2).expand([batch, seq, d]), 0.0),
            None => y,
        }
    }
}

impl PytorchWeights for SelfAttentionBlock {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.attention.export(&child(prefix, "attention"), what);
        dict.extend(self.norm.export(&child(prefix, "norm"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.attention = self.attention.load(dict, &child(prefix, "attention"))?;
        self.norm = self.norm.load(dict, &child(prefix, "norm"))?;
        Ok(self)
    }
}

/// Configuration of a [`RecurrentSelfAttention`] block.
#[derive(Config, Debug)]
pub struct RecurrentSelfAttentionConfig {
    /// The recurrent layer (its output size `dirs * d_hidden` is the attention's `d_model`).
    pub recurrent: RecurrentConfig,
    /// Attention heads (the recurrent output size must be a multiple).
    #[config(default = 4)]
    pub n_heads: usize,
    /// Dropout on the attention weights and on the attention's output, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl RecurrentSelfAttentionConfig {
    /// Builds the block on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`RecurrentSelfAttentionConfig::try_init`] returns it.
    pub fn init(&self, device: &Device) -> RecurrentSelfAttention {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the block, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<RecurrentSelfAttention> {
        Ok(RecurrentSelfAttention {
            recurrent: self.recurrent.try_init(device)?,
            block: SelfAttentionBlockConfig::new(self.recurrent.d_output())
                .with_n_heads(self.n_heads)
                .with_dropout(self.dropout)
                .try_init(device)?,
        })
    }
}

/// A recurrent layer, then a [`SelfAttentionBlock`] over its outputs:
///
/// ```text
/// h = Recurrent(x)                                      [batch, seq, d_model]
/// y = LayerNorm(h + Dropout(MHA(h, h, h, padding masked)))
/// ```
///
/// The recurrent layer sees order; the attention lets every step look at every other
/// directly, which helps with long-range dependencies (Lin et al. 2017).
///
/// Weights: `recurrent.*` (PyTorch's recurrent names), `attention.*`, `norm.*`.
#[derive(Module, Debug)]
pub struct RecurrentSelfAttention {
    /// The recurrent layer.
    pub recurrent: Recurrent,
    /// Self-attention over its outputs.
    pub block: SelfAttentionBlock,
}

impl RecurrentSelfAttention {
    /// Runs the block over `input.input` (`[batch, seq, d_input]`) with `input.lengths`
    /// respected: outputs `[batch, seq, d_model]` and the recurrent layer's final state.
    ///
    /// # Panics
    ///
    /// On a wrong shape; [`RecurrentSelfAttention::try_forward_input`] returns the error.
    pub fn forward_input(
        &self,
        input: SequenceInput<RecurrentState>,
    ) -> (Tensor<3>, RecurrentState) {
        self.try_forward_input(input)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`RecurrentSelfAttention::forward_input`], with errors returned.
    pub fn try_forward_input(
        &self,
        input: SequenceInput<RecurrentState>,
    ) -> Result<(Tensor<3>, RecurrentState)> {
        let lengths = input.lengths.clone();
        let (h, state) = self.recurrent.try_forward_input(input)?;
        Ok((self.block.forward(h, lengths), state))
    }

    /// Size of each output step.
    pub fn d_output(&self) -> usize {
        self.recurrent.d_output()
    }
}

impl PytorchWeights for RecurrentSelfAttention {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.recurrent.export(&child(prefix, "recurrent"), what);
        dict.extend(self.block.export(prefix, what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.recurrent = self.recurrent.load(dict, &child(prefix, "recurrent"))?;
        self.block = self.block.load(dict, prefix)?;
        Ok(self)
    }
}
