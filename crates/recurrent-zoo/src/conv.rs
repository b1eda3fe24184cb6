//! CNN+RNN hybrids: a `Conv1d` front end over the steps of a sequence, feeding a recurrent
//! layer ([`CnnRecurrent`]) or pooled into one vector per token ([`CharCnn`]).

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::pool::{MaxPool1d, MaxPool1dConfig};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Bool, Device, Int, Tensor};
use recurrent_cells::{SequenceInput, StateDict, lengths_to_mask};

use crate::error::{Result, ZooError, check_size};
use crate::recurrent::{Recurrent, RecurrentConfig, RecurrentState};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of a [`ConvFrontEnd`].
#[derive(Config, Debug, PartialEq)]
pub struct ConvFrontEndConfig {
    /// Size of each input step.
    pub d_input: usize,
    /// Output channels (features per step).
    pub channels: usize,
    /// Width of the filters.
    #[config(default = 3)]
    pub kernel: usize,
    /// Causal padding: step `t` sees steps `t - kernel + 1 ..= t` only (for forecasting,
    /// where the future must not leak in); otherwise the filters centre on each step
    /// (`kernel` odd, PyTorch's `padding=kernel // 2`).
    #[config(default = false)]
    pub causal: bool,
    /// Max pooling of `pool` steps with stride `pool` after the convolution (1: none);
    /// sequences get `length / pool` steps (rounded down, PyTorch's `MaxPool1d`).
    #[config(default = 1)]
    pub pool: usize,
}

impl ConvFrontEndConfig {
    /// Builds the front end on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`ConvFrontEndConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> ConvFrontEnd {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the front end, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<ConvFrontEnd> {
        check_size("d_input", self.d_input)?;
        check_size("channels", self.channels)?;
        check_size("kernel", self.kernel)?;
        check_size("pool", self.pool)?;
        if !self.causal && self.kernel.is_multiple_of(2) {
            return Err(ZooError::config(
                "kernel",
                format!(
                    "{} (must be odd so that the filters centre on each step; or use causal \
                     padding)",
                    self.kernel
                ),
            ));
        }
        let padding = if self.causal {
            PaddingConfig1d::Explicit(self.kernel - 1, 0)
        } else {
            PaddingConfig1d::Explicit(self.kernel / 2, self.kernel / 2)
        };
        Ok(ConvFrontEnd {
            conv: Conv1dConfig::new(self.d_input, self.channels, self.kernel)
                .with_padding(padding)
                .init(device),
            pool: (self.pool > 1).then(|| {
                MaxPool1dConfig::new(self.pool)
                    .with_stride(self.pool)
                    .init()
            }),
            pool_size: self.pool,
        })
    }
}

/// A `Conv1d` over the steps of a sequence, then ReLU, then optional max pooling:
///
/// ```text
/// x [batch, seq, d_input], padding steps set to 0
///   ── Conv1d(d_input → channels, kernel; centred or causal padding) ── ReLU
///   ── padding steps set to 0 ── MaxPool1d(pool, stride pool) ── [batch, seq / pool, channels]
/// ```
///
/// Padding never changes a valid step: it is zero before the convolution (as the zero
/// padding at the sequence's ends), and zero after the ReLU, where every value is at least
/// 0, so a pooling window never takes its max from it.
///
/// Weights: `conv.weight` `[channels, d_input, kernel]`, `conv.bias` (`torch.nn.Conv1d`).
#[derive(Module, Debug)]
pub struct ConvFrontEnd {
    /// The convolution.
    pub conv: Conv1d,
    /// The pooling, when `pool > 1`.
    pub pool: Option<MaxPool1d>,
    /// The pooling size (1: none).
    pub pool_size: usize,
}

impl ConvFrontEnd {
    /// Runs over `x` (`[batch, seq, d_input]`) whose valid steps are `valid` (`[batch,
    /// seq]`, all when `None`): `[batch, seq / pool, channels]`, with padding steps 0.
    ///
    /// Errors: a wrong input width, or a sequence shorter than the pooling.
    pub fn try_forward_masked(
        &self,
        x: Tensor<3>,
        valid: Option<&Tensor<2, Bool>>,
    ) -> Result<Tensor<3>> {
        let [batch, seq, d] = x.dims();
        let [channels, d_input, _] = self.conv.weight.val().dims();
        if d != d_input || seq < self.pool_size {
            return Err(ZooError::shape(
                "input",
                format!("[batch, seq >= {}, {d_input}]", self.pool_size),
                &x.dims(),
            ));
        }
        let pad = valid.map(|v| v.clone().bool_not().unsqueeze_dim::<3>(2));
        let x = match &pad {
            Some(p) => x.mask_fill(p.clone().expand([batch, seq, d]), 0.0),
            None => x,
        };
        let y = relu(self.conv.forward(x.swap_dims(1, 2))).swap_dims(1, 2); // [b, s, c]
        let y = match &pad {
            Some(p) => y.mask_fill(p.clone().expand([batch, seq, channels]), 0.0),
            None => y,
        };
        Ok(match &self.pool {
            Some(pool) => pool.forward(y.swap_dims(1, 2)).swap_dims(1, 2),
            None => y,
        })
    }

    /// As [`ConvFrontEnd::try_forward_masked`] with the valid steps given by `lengths`
    /// (`[batch]`); also returns the lengths after pooling (`length / pool`).
    pub fn try_forward(
        &self,
        x: Tensor<3>,
        lengths: Option<Tensor<1, Int>>,
    ) -> Result<(Tensor<3>, Option<Tensor<1, Int>>)> {
        let seq = x.dims()[1];
        let valid = lengths.clone().map(|l| lengths_to_mask(l, seq));
        let y = self.try_forward_masked(x, valid.as_ref())?;
        let lengths = lengths.map(|l| {
            if self.pool_size > 1 {
                l.div_scalar(self.pool_size as i64)
            } else {
                l
            }
        });
        Ok((y, lengths))
    }

    /// Number of output channels.
    pub fn channels(&self) -> usize {
        self.conv.weight.val().dims()[0]
    }
}

impl PytorchWeights for ConvFrontEnd {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        self.conv.export(&child(prefix, "conv"), what)
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.conv = self.conv.load(dict, &child(prefix, "conv"))?;
        Ok(self)
    }
}

/// Configuration of a [`CnnRecurrent`] hybrid.
#[derive(Config, Debug)]
pub struct CnnRecurrentConfig {
    /// The convolutional front end.
    pub conv: ConvFrontEndConfig,
    /// The recurrent layer; its `d_input` must be the front end's `channels`.
    pub recurrent: RecurrentConfig,
}

impl CnnRecurrentConfig {
    /// A front end of `channels` filters feeding `recurrent` (whose input size is set to
    /// `channels`).
    pub fn stacked(conv: ConvFrontEndConfig, recurrent: RecurrentConfig) -> Self {
        let recurrent = RecurrentConfig {
            d_input: conv.channels,
            ..recurrent
        };
        Self::new(conv, recurrent)
    }

    /// Builds the hybrid on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`CnnRecurrentConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> CnnRecurrent {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the hybrid, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<CnnRecurrent> {
        if self.recurrent.d_input != self.conv.channels {
            return Err(ZooError::config(
                "recurrent.d_input",
                format!(
                    "{} must equal the front end's channels {}",
                    self.recurrent.d_input, self.conv.channels
                ),
            ));
        }
        Ok(CnnRecurrent {
            conv: self.conv.try_init(device)?,
            recurrent: self.recurrent.try_init(device)?,
        })
    }
}

/// A CNN+RNN hybrid: a [`ConvFrontEnd`] extracting local patterns (n-grams of characters,
/// short shapes of a series), a recurrent layer reading them in order.
///
/// ```text
/// x [batch, seq, d_input] ── ConvFrontEnd ── [batch, seq / pool, channels]
///   ── Recurrent (lengths / pool) ── [batch, seq / pool, dirs * d_hidden], final state
/// ```
///
/// Weights: `conv.*` (`torch.nn.Conv1d`) and `recurrent.*` (PyTorch's recurrent names).
#[derive(Module, Debug)]
pub struct CnnRecurrent {
    /// The front end.
    pub conv: ConvFrontEnd,
    /// The recurrent layer.
    pub recurrent: Recurrent,
}

impl CnnRecurrent {
    /// Runs over `input.input` (`[batch, seq, d_input]`) from `input.state`, with
    /// `input.lengths` respected: the recurrent outputs, the final state, and the lengths
    /// after pooling.
    pub fn try_forward_input(
        &self,
        input: SequenceInput<RecurrentState>,
    ) -> Result<(Tensor<3>, RecurrentState, Option<Tensor<1, Int>>)> {
        let (features, lengths) = self.conv.try_forward(input.input, input.lengths)?;
        let mut next = SequenceInput::new(features).state_opt(input.state);
        if let Some(l) = &lengths {
            next = next.lengths(l.clone());
        }
        let (out, state) = self.recurrent.try_forward_input(next)?;
        Ok((out, state, lengths))
    }

    /// As [`CnnRecurrent::try_forward_input`] without lengths or state, panicking on a wrong
    /// shape: `input` `[batch, seq, d_input]` → `[batch, seq / pool, dirs * d_hidden]`.
    pub fn forward(&self, input: Tensor<3>) -> (Tensor<3>, RecurrentState) {
        let (out, state, _) = self
            .try_forward_input(SequenceInput::new(input))
            .unwrap_or_else(|e| panic!("{e}"));
        (out, state)
    }
}

impl PytorchWeights for CnnRecurrent {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.conv.export(prefix, what);
        dict.extend(self.recurrent.export(&child(prefix, "recurrent"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.conv = self.conv.load(dict, prefix)?;
        self.recurrent = self.recurrent.load(dict, &child(prefix, "recurrent"))?;
        Ok(self)
    }
}

/// Configuration of a [`CharCnn`].
#[derive(Config, Debug, PartialEq)]
pub struct CharCnnConfig {
    /// Characters in the vocabulary (id 0 is padding).
    pub n_chars: usize,
    /// Character embedding size.
    #[config(default = 24)]
    pub d_embed: usize,
    /// Features per token (filters).
    #[config(default = 50)]
    pub features: usize,
    /// Width of the filters (odd).
    #[config(default = 3)]
    pub kernel: usize,
}

impl CharCnnConfig {
    /// Builds the module on `device`, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<CharCnn> {
        check_size("n_chars", self.n_chars)?;
        check_size("char d_embed", self.d_embed)?;
        Ok(CharCnn {
            embed: EmbeddingConfig::new(self.n_chars, self.d_embed).init(device),
            conv: ConvFrontEndConfig::new(self.d_embed, self.features)
                .with_kernel(self.kernel)
                .try_init(device)?,
        })
    }
}

/// Character features of each token (Ma & Hovy 2016): character embeddings, a
/// [`ConvFrontEnd`], and the max over the token's characters.
///
/// ```text
/// chars [batch, seq, max_chars] (0 = padding) ── Embedding ── ConvFrontEnd (padding masked)
///   ── max over characters ── [batch, seq, features]
/// ```
///
/// Weights: `embed.weight`, `conv.weight`, `conv.bias`.
#[derive(Module, Debug)]
pub struct CharCnn {
    /// Character embeddings.
    pub embed: Embedding,
    /// The convolution over each token's characters.
    pub conv: ConvFrontEnd,
}

impl CharCnn {
    /// Features `[batch, seq, features]` of the character ids `[batch, seq, max_chars]`
    /// (0 is padding; a token without characters gets all-zero features).
    pub fn forward(&self, chars: Tensor<3, Int>) -> Tensor<3> {
        let [batch, seq, width] = chars.dims();
        let flat = chars.reshape([batch * seq, width]);
        let valid = flat.clone().greater_elem(0);
        let embedded = self.embed.forward(flat);
        let features = self
            .conv
            .try_forward_masked(embedded, Some(&valid))
            .unwrap_or_else(|e| panic!("{e}")); // [b*s, width, f]
        let n = features.dims()[2];
        features.max_dim(1).reshape([batch, seq, n])
    }

    /// Features per token.
    pub fn features(&self) -> usize {
        self.conv.channels()
    }
}

impl PytorchWeights for CharCnn {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.embed.export(&child(prefix, "embed"), what);
        dict.extend(self.conv.export(prefix, what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.embed = self.embed.load(dict, &child(prefix, "embed"))?;
        self.conv = self.conv.load(dict, prefix)?;
        Ok(self)
    }
}
