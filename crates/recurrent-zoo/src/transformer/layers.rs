//! A stack of Transformer encoder layers (`nn.TransformerEncoder`), with the masks it needs
//! and an incremental (key/value cached) causal pass.

use burn::config::Config;
use burn::module::Module;
use burn::nn::activation::Activation;
use burn::nn::attention::{MhaInput, MultiHeadAttention};
use burn::nn::transformer::{
    PositionWiseFeedForward, TransformerEncoderConfig, TransformerEncoderLayer,
};
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Device, Int, Tensor};
use recurrent_cells::{StateDict, lengths_to_mask};

use super::FeedForwardActivation;
use super::cache::KvCache;
use crate::error::{Result, ZooError, check_rate, check_size};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of [`TransformerLayers`]; the defaults are PyTorch's
/// `nn.TransformerEncoderLayer` (post-norm, ReLU, dropout 0.1, eps 1e-5).
#[derive(Config, Debug, PartialEq)]
pub struct TransformerLayersConfig {
    /// Size of each step.
    pub d_model: usize,
    /// Attention heads (`d_model` must be a multiple).
    pub n_heads: usize,
    /// Hidden size of the feed-forward network.
    pub d_ff: usize,
    /// Layers.
    pub n_layers: usize,
    /// Dropout on the attention weights, the feed-forward hidden layer and each residual
    /// branch, training only.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// LayerNorm before each sub-layer (pre-norm, `norm_first=True`) rather than after the
    /// residual sum; pre-norm stacks end with one more LayerNorm (`norm`).
    #[config(default = false)]
    pub norm_first: bool,
    /// The feed-forward activation.
    #[config(default = "FeedForwardActivation::Relu")]
    pub activation: FeedForwardActivation,
    /// LayerNorm's epsilon.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
}

impl TransformerLayersConfig {
    /// Builds the layers, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<TransformerLayers> {
        check_size("d_model", self.d_model)?;
        check_size("n_heads", self.n_heads)?;
        check_size("d_ff", self.d_ff)?;
        check_size("n_layers", self.n_layers)?;
        check_rate("dropout", self.dropout)?;
        check_heads(self.d_model, self.n_heads)?;
        let config = self.burn();
        Ok(TransformerLayers {
            layers: (0..self.n_layers)
                .map(|_| TransformerEncoderLayer::new(&config, device))
                .collect(),
            norm: self.norm_first.then(|| {
                LayerNormConfig::new(self.d_model)
                    .with_epsilon(self.layer_norm_eps)
                    .init(device)
            }),
        })
    }

    /// burn's configuration of the same layers.
    pub(crate) fn burn(&self) -> TransformerEncoderConfig {
        TransformerEncoderConfig::new(self.d_model, self.d_ff, self.n_heads, self.n_layers)
            .with_dropout(self.dropout)
            .with_norm_first(self.norm_first)
            .with_activation(self.activation.burn())
            .with_layer_norm_eps(self.layer_norm_eps)
    }
}

/// `n_heads` must divide `d_model`.
pub(crate) fn check_heads(d_model: usize, n_heads: usize) -> Result<()> {
    if d_model.is_multiple_of(n_heads) {
        Ok(())
    } else {
        Err(ZooError::config(
            "n_heads",
            format!("{n_heads} does not divide the model size {d_model}"),
        ))
    }
}

/// `[batch, seq]`, true at padding (past each row's length): burn's `mask_pad`.
pub fn padding_mask(lengths: Tensor<1, Int>, seq: usize) -> Tensor<2, Bool> {
    lengths_to_mask(lengths, seq).bool_not()
}

/// `[batch, seq, offset + seq]`, true where query `i` (at position `offset + i`) must not see
/// key `j` (`j > offset + i`): burn's `mask_attn` for causal attention.
pub fn causal_mask(batch: usize, seq: usize, offset: usize, device: &Device) -> Tensor<3, Bool> {
    Tensor::<2, Bool>::tril_mask([seq, offset + seq], offset as i64, device)
        .unsqueeze_dim::<3>(0)
        .expand([batch, seq, offset + seq])
}

/// `nn.TransformerEncoder` on burn's [`TransformerEncoderLayer`]s:
///
/// ```text
/// x [batch, seq, d_model] ── layer 0 ── … ── layer N-1 ── [pre-norm: LayerNorm] ── [batch, seq, d_model]
/// post-norm layer: x = LN1(x + Attn(x)); x = LN2(x + FF(x))
/// pre-norm layer:  x = x + Attn(LN1(x)); x = x + FF(LN2(x))
/// ```
///
/// Weights (PyTorch's): `layers.K.self_attn.in_proj_weight` `[3 d, d]`,
/// `layers.K.self_attn.in_proj_bias`, `layers.K.self_attn.out_proj.*`, `layers.K.linear1.*`,
/// `layers.K.linear2.*`, `layers.K.norm1.*`, `layers.K.norm2.*`, and `norm.*` (pre-norm).
#[derive(Module, Debug)]
pub struct TransformerLayers {
    /// The layers.
    pub layers: Vec<TransformerEncoderLayer>,
    /// The final LayerNorm of a pre-norm stack.
    pub norm: Option<LayerNorm>,
}

impl TransformerLayers {
    /// Runs every layer over `x` (`[batch, seq, d_model]`). `pad` (`[batch, seq]`, true at
    /// padding) keeps padded keys out of every attention; `causal` keeps each step from
    /// seeing later ones.
    pub fn forward(&self, x: Tensor<3>, pad: Option<Tensor<2, Bool>>, causal: bool) -> Tensor<3> {
        let mut x = x;
        for layer in &self.layers {
            x = encoder_layer(layer, x, pad.clone(), causal);
        }
        match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        }
    }

    /// The causal pass over new steps `x` (`[batch, n, d_model]`, at positions `cache.len()..`)
    /// after those in `cache`, whose keys and values it extends; equal to the last `n` steps of
    /// [`TransformerLayers::forward`] with `causal` over the whole sequence (inference: no
    /// dropout).
    pub fn forward_cached(&self, x: Tensor<3>, cache: &mut KvCache) -> Tensor<3> {
        let offset = cache.len();
        let mut x = x;
        for (k, layer) in self.layers.iter().enumerate() {
            let attend = |h: Tensor<3>, cache: &mut KvCache| {
                cached_attention(&layer.mha, h, offset, cache, k)
            };
            if layer.norm_first {
                // burn applies `norm_2` before attention and `norm_1` before the feed-forward.
                x = x.clone() + attend(layer.norm_2.forward(x), cache);
                x = x.clone() + feed_forward(&layer.pwff, layer.norm_1.forward(x));
            } else {
                x = layer.norm_1.forward(x.clone() + attend(x, cache));
                x = layer
                    .norm_2
                    .forward(x.clone() + feed_forward(&layer.pwff, x));
            }
        }
        cache.advance(x.dims()[1]);
        match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        }
    }

    /// Layers in the stack.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }
}

/// The exact GELU, `x Φ(x) = x (1 + erf(x / √2)) / 2`, from differentiable operations, so
/// its gradient is the exact one on every backend (burn's fused GELU differentiates the tanh
/// approximation on some backends).
pub fn gelu(x: Tensor<3>) -> Tensor<3> {
    let phi = (x.clone() / std::f32::consts::SQRT_2).erf().add_scalar(1.0);
    x * phi / 2.0
}

/// burn's position-wise feed-forward with [`gelu`] in place of its own GELU.
pub(crate) fn feed_forward(pwff: &PositionWiseFeedForward, x: Tensor<3>) -> Tensor<3> {
    let h = pwff.linear_inner.forward(x);
    let h = match &pwff.activation {
        Activation::Gelu(g) if !g.approximate => gelu(h),
        other => other.forward(h),
    };
    pwff.linear_outer.forward(pwff.dropout.forward(h))
}

/// One encoder layer on burn's [`TransformerEncoderLayer`] in PyTorch's order of operations
/// (`nn.TransformerEncoderLayer`), with [`feed_forward`].
pub fn encoder_layer(
    layer: &TransformerEncoderLayer,
    x: Tensor<3>,
    pad: Option<Tensor<2, Bool>>,
    causal: bool,
) -> Tensor<3> {
    let own = |h: Tensor<3>| attend(&layer.mha, h.clone(), h, pad.clone(), causal).0;
    let drop = |t: Tensor<3>| layer.dropout.forward(t);
    if layer.norm_first {
        // burn applies `norm_2` before attention and `norm_1` before the feed-forward.
        let x = x.clone() + drop(own(layer.norm_2.forward(x)));
        x.clone() + drop(feed_forward(&layer.pwff, layer.norm_1.forward(x)))
    } else {
        let x = layer.norm_1.forward(x.clone() + drop(own(x)));
        layer
            .norm_2
            .forward(x.clone() + drop(feed_forward(&layer.pwff, x)))
    }
}

/// `[batch, n, d]` → `[batch, heads, n, d_k]` through `linear`.
fn heads(mha: &MultiHeadAttention, linear: &Linear, x: Tensor<3>) -> Tensor<4> {
    let [batch, n, _] = x.dims();
    linear
        .forward(x)
        .reshape([batch, n, mha.n_heads, mha.d_k])
        .swap_dims(1, 2)
}

/// Causal self-attention of the new steps `h` (`[batch, n, d]`, from position `offset`) over
/// the cached keys and values of layer `layer` and their own.
fn cached_attention(
    mha: &MultiHeadAttention,
    h: Tensor<3>,
    offset: usize,
    cache: &mut KvCache,
    layer: usize,
) -> Tensor<3> {
    let [batch, n, d_model] = h.dims();
    let device = h.device();
    let query = heads(mha, &mha.query, h.clone());
    let (keys, values) = cache.extend(
        layer,
        heads(mha, &mha.key, h.clone()),
        heads(mha, &mha.value, h),
    );
    let scores = query
        .matmul(keys.swap_dims(2, 3))
        .div_scalar((mha.d_k as f32).sqrt());
    let mask = causal_mask(batch, n, offset, &device).unsqueeze_dim::<4>(1);
    let scores = scores.mask_fill(
        mask.expand([batch, mha.n_heads, n, offset + n]),
        mha.min_float,
    );
    let context = softmax(scores, 3)
        .matmul(values)
        .swap_dims(1, 2)
        .reshape([batch, n, d_model]);
    mha.output.forward(context)
}

/// burn's multi-head attention of `query` over `memory`, its output and weights averaged
/// over the heads (`[batch, n, s]`), with padded memory steps masked.
pub(crate) fn attend(
    mha: &MultiHeadAttention,
    query: Tensor<3>,
    memory: Tensor<3>,
    memory_pad: Option<Tensor<2, Bool>>,
    causal: bool,
) -> (Tensor<3>, Tensor<3>) {
    let [batch, n, _] = query.dims();
    let device = query.device();
    let mut input = MhaInput::new(query, memory.clone(), memory);
    if let Some(pad) = memory_pad {
        input = input.mask_pad(pad);
    }
    if causal {
        input = input.mask_attn(causal_mask(batch, n, 0, &device));
    }
    let out = mha.forward(input);
    (out.context, out.weights.mean_dim(1).squeeze_dim::<3>(1))
}

impl PytorchWeights for TransformerLayers {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.layers.export(&child(prefix, "layers"), what);
        dict.extend(self.norm.export(&child(prefix, "norm"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.layers = self.layers.load(dict, &child(prefix, "layers"))?;
        self.norm = self.norm.load(dict, &child(prefix, "norm"))?;
        Ok(self)
    }
}
