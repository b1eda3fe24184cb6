//! One sequence network of any family behind one interface, with its parameter count and
//! compute per step worked out from its sizes (for measured comparisons).

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Result, ZooError, check_size};
use crate::recurrent::{Recurrent, RecurrentConfig, RecurrentKind};
use crate::transformer::{
    FeedForwardActivation, PositionKind, Positions, TransformerLayers, TransformerLayersConfig,
};

/// The family and cell of a [`Backbone`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackboneKind {
    /// A recurrent layer of this cell.
    Recurrent(RecurrentKind),
    /// Transformer encoder layers (pre-norm, GELU), causal or not.
    Transformer,
}

impl BackboneKind {
    /// SimpleRNN, LSTM, GRU, LayerNorm-LSTM and the Transformer, in that order.
    pub const ALL: [BackboneKind; 5] = [
        Self::Recurrent(RecurrentKind::Rnn),
        Self::Recurrent(RecurrentKind::Lstm),
        Self::Recurrent(RecurrentKind::Gru),
        Self::Recurrent(RecurrentKind::LnLstm),
        Self::Transformer,
    ];

    /// The name in tables: `SimpleRNN`, `LSTM`, `GRU`, `LN-LSTM`, `Transformer`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Recurrent(RecurrentKind::Rnn) => "SimpleRNN",
            Self::Recurrent(RecurrentKind::Lstm) => "LSTM",
            Self::Recurrent(RecurrentKind::Gru) => "GRU",
            Self::Recurrent(RecurrentKind::LnLstm) => "LN-LSTM",
            Self::Transformer => "Transformer",
        }
    }
}

impl fmt::Display for BackboneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Recurrent(kind) => kind.fmt(f),
            Self::Transformer => f.write_str("transformer"),
        }
    }
}

impl FromStr for BackboneKind {
    type Err = ZooError;

    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("transformer") {
            return Ok(Self::Transformer);
        }
        s.parse::<RecurrentKind>()
            .map(Self::Recurrent)
            .map_err(|_| {
                ZooError::config(
                    "model",
                    format!("{s:?} (expected rnn, lstm, gru, ln-lstm or transformer)"),
                )
            })
    }
}

/// Configuration of a [`Backbone`].
#[derive(Config, Debug, PartialEq)]
pub struct BackboneConfig {
    /// The network.
    pub kind: BackboneKind,
    /// Features per input step.
    pub d_input: usize,
    /// Hidden size (recurrent) or model size (Transformer).
    pub d_model: usize,
    /// Layers.
    #[config(default = 1)]
    pub n_layers: usize,
    /// Attention heads (Transformer).
    #[config(default = 4)]
    pub n_heads: usize,
    /// Feed-forward size (Transformer); 0 means `2 d_model`, which gives a layer about the
    /// parameters of an LSTM layer of the same width.
    #[config(default = 0)]
    pub d_ff: usize,
    /// Whether each step sees only the steps before it (always so for recurrent layers).
    #[config(default = true)]
    pub causal: bool,
    /// The longest sequence (Transformer positions).
    #[config(default = 1024)]
    pub max_len: usize,
}

impl BackboneConfig {
    fn d_ff(&self) -> usize {
        if self.d_ff == 0 {
            2 * self.d_model
        } else {
            self.d_ff
        }
    }

    /// Builds the network, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<Backbone> {
        check_size("d_input", self.d_input)?;
        check_size("d_model", self.d_model)?;
        check_size("n_layers", self.n_layers)?;
        Ok(match self.kind {
            BackboneKind::Recurrent(kind) => Backbone::Recurrent(
                RecurrentConfig::new(kind, self.d_input, self.d_model)
                    .with_n_layers(self.n_layers)
                    .try_init(device)?,
            ),
            BackboneKind::Transformer => Backbone::Transformer(TransformerBackbone {
                project: LinearConfig::new(self.d_input, self.d_model).init(device),
                positions: Positions::new(
                    PositionKind::Sinusoidal,
                    self.max_len,
                    self.d_model,
                    device,
                ),
                layers: TransformerLayersConfig::new(
                    self.d_model,
                    self.n_heads,
                    self.d_ff(),
                    self.n_layers,
                )
                .with_dropout(0.0)
                .with_norm_first(true)
                .with_activation(FeedForwardActivation::Gelu)
                .try_init(device)?,
                causal: self.causal,
            }),
        })
    }

    /// The trainable parameters, worked out from the sizes (PyTorch's two bias vectors per
    /// recurrent layer; LayerNorm gains and biases; sinusoids are not parameters).
    pub fn parameters(&self) -> usize {
        let (d, n) = (self.d_model, self.n_layers);
        match self.kind {
            BackboneKind::Recurrent(kind) => {
                let gates = match kind {
                    RecurrentKind::Rnn => 1,
                    RecurrentKind::Gru => 3,
                    RecurrentKind::Lstm | RecurrentKind::LnLstm => 4,
                };
                let layer = |d_in: usize| {
                    let base = gates * d * (d_in + d) + 2 * gates * d;
                    // LN-LSTM: gain and bias of LN_ih and LN_hh (4 d each) and LN_c (d).
                    let norms = if kind == RecurrentKind::LnLstm {
                        2 * (2 * 4 * d) + 2 * d
                    } else {
                        0
                    };
                    base + norms
                };
                layer(self.d_input) + (n - 1) * layer(d)
            }
            BackboneKind::Transformer => {
                let ff = self.d_ff();
                let attention = 4 * d * d + 4 * d;
                let feed_forward = d * ff + ff + ff * d + d;
                let norms = 2 * 2 * d;
                (self.d_input * d + d) + n * (attention + feed_forward + norms) + 2 * d
            }
        }
    }

    /// Forward floating-point operations per sequence step (a multiply-add counts 2, every
    /// elementwise operation 1), in a sequence of `seq_len` steps (the Transformer's
    /// attention grows with it: each step attends to `seq_len` keys, or on average
    /// `(seq_len + 1) / 2` when causal).
    pub fn flops_per_step(&self, seq_len: usize) -> f64 {
        let (d, n) = (self.d_model as f64, self.n_layers as f64);
        let d_in = self.d_input as f64;
        match self.kind {
            BackboneKind::Recurrent(kind) => {
                // Per layer: the products, the two bias adds, and the gate arithmetic.
                let (gates, elementwise) = match kind {
                    // tanh(x W + h U + b + b')
                    RecurrentKind::Rnn => (1.0, 1.0),
                    // 3 sigmoids, 2 tanh, c = f c + i g (3), h = o tanh(c) (1)
                    RecurrentKind::Lstm => (4.0, 9.0),
                    // 2 sigmoids, 1 tanh, r * (h U_n + b) (1), + x W_n (1), (1 - z) n + z h (3)
                    RecurrentKind::Gru => (3.0, 8.0),
                    // the LSTM's, plus three LayerNorms (about 8 operations per element)
                    RecurrentKind::LnLstm => (4.0, 9.0 + (8.0 * 8.0 + 8.0)),
                };
                let layer =
                    |d_in: f64| 2.0 * gates * d * (d_in + d) + 2.0 * gates * d + elementwise * d;
                layer(d_in) + (n - 1.0) * layer(d)
            }
            BackboneKind::Transformer => {
                let ff = self.d_ff() as f64;
                let keys = if self.causal {
                    (seq_len as f64 + 1.0) / 2.0
                } else {
                    seq_len as f64
                };
                let heads = self.n_heads as f64;
                // Q, K, V, output projections; scores and weighted sum; softmax (about 5 per
                // score); two LayerNorms (about 8 per element); GELU (about 8 per element);
                // residual adds.
                let layer = 8.0 * d * d
                    + 4.0 * keys * d
                    + 5.0 * keys * heads
                    + 4.0 * d * ff
                    + 16.0 * d
                    + 8.0 * ff
                    + 2.0 * d;
                2.0 * d_in * d + 2.0 * d + n * layer + 8.0 * d
            }
        }
    }
}

/// A Transformer over feature vectors: a linear projection, sinusoidal positions, pre-norm
/// layers (padding-free batches).
#[derive(Module, Debug)]
pub struct TransformerBackbone {
    /// Input features to the model size.
    pub project: Linear,
    /// Positions.
    pub positions: Positions,
    /// The layers (ending with a LayerNorm).
    pub layers: TransformerLayers,
    /// Whether attention is causal.
    pub causal: bool,
}

/// Any family's sequence network: `[batch, seq, d_input]` → `[batch, seq, d_model]`.
///
/// The recurrent layers read left to right; the Transformer attends causally unless built
/// with `causal: false`.
// A model holds one of these: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone {
    /// A recurrent layer (stack).
    Recurrent(Recurrent),
    /// A Transformer encoder.
    Transformer(TransformerBackbone),
}

impl Backbone {
    /// The outputs of every step of `x` (`[batch, seq, d_input]`).
    ///
    /// Errors: a wrong input width, or a sequence longer than the Transformer's positions.
    pub fn try_forward(&self, x: Tensor<3>) -> Result<Tensor<3>> {
        match self {
            Self::Recurrent(r) => Ok(r
                .try_forward_input(recurrent_cells::SequenceInput::new(x))?
                .0),
            Self::Transformer(t) => {
                let x = t.positions.try_forward(t.project.forward(x), 0)?;
                Ok(t.layers.forward(x, None, t.causal))
            }
        }
    }
}
