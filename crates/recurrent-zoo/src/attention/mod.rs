//! Attention over the outputs of a recurrent layer, with padding masks from lengths.
//!
//! - [`AdditiveAttention`]: Bahdanau et al. (2015), `score(q, k) = v·tanh(W q + U k)`.
//! - [`DotAttention`]: Luong et al. (2015), `dot`, `general` (`q·W k`) or `scaled`
//!   (`q·k / sqrt(d)`).
//! - [`AttentionPooling`]: a learned query pooling a sequence into one vector (Yang et al.
//!   2016), for classification.
//! - [`RecurrentSelfAttention`]: a recurrent layer followed by burn's multi-head
//!   self-attention, a residual sum and LayerNorm.
//!
//! Masked keys get exactly 0 weight. A query whose keys are all masked (a sequence of
//! length 0) gets all-zero weights and a zero context: documented, never NaN.

mod additive;
mod dot;
mod pooling;
mod self_attention;

pub use additive::{AdditiveAttention, AdditiveAttentionConfig};
pub use dot::{DotAttention, DotAttentionConfig, LuongScore};
pub use pooling::{AttentionPooling, AttentionPoolingConfig};
pub use self_attention::{
    RecurrentSelfAttention, RecurrentSelfAttentionConfig, SelfAttentionBlock,
    SelfAttentionBlockConfig,
};

use burn::tensor::{Bool, Int, Tensor};
use recurrent_cells::lengths_to_mask;

use crate::error::{Result, ZooError};

/// The input of an attention module: queries, keys, values and which keys are valid.
///
/// ```rust
/// use burn::tensor::{Device, Tensor};
/// use recurrent_cells::lengths_tensor;
/// use recurrent_zoo::attention::AttentionInput;
///
/// let device = Device::flex();
/// let keys = Tensor::<3>::zeros([2, 7, 16], &device);
/// let query = Tensor::<3>::zeros([2, 1, 16], &device);
/// let input = AttentionInput::new(query, keys).lengths(lengths_tensor(&[7, 3], &device));
/// ```
#[derive(Debug, Clone)]
pub struct AttentionInput {
    /// Queries `[batch, n_queries, d_query]` (one per decoder step, or a single one).
    pub query: Tensor<3>,
    /// Keys `[batch, n_keys, d_key]` (the encoder's outputs).
    pub keys: Tensor<3>,
    /// Values `[batch, n_keys, d_value]`; the keys when `None` (as in the seq2seq tutorial).
    pub values: Option<Tensor<3>>,
    /// `[batch, n_keys]`, true at valid keys; all valid when `None`.
    pub valid: Option<Tensor<2, Bool>>,
}

impl AttentionInput {
    /// Queries over keys that are also the values, all valid.
    pub fn new(query: Tensor<3>, keys: Tensor<3>) -> Self {
        Self {
            query,
            keys,
            values: None,
            valid: None,
        }
    }

    /// Separate values `[batch, n_keys, d_value]`.
    pub fn values(mut self, values: Tensor<3>) -> Self {
        self.values = Some(values);
        self
    }

    /// The valid keys of each batch row, `[batch, n_keys]` (true = attend).
    pub fn mask(mut self, valid: Tensor<2, Bool>) -> Self {
        self.valid = Some(valid);
        self
    }

    /// The valid keys from sequence lengths `[batch]`: key `j` is valid where `j < length`.
    pub fn lengths(self, lengths: Tensor<1, Int>) -> Self {
        let n_keys = self.keys.dims()[1];
        self.mask(lengths_to_mask(lengths, n_keys))
    }

    /// Checks the shapes: the batch sizes agree, the values' steps are the keys', and the
    /// mask is `[batch, n_keys]`.
    pub(crate) fn check(&self, d_query: usize, d_key: usize) -> Result<()> {
        let [batch, _, dq] = self.query.dims();
        let [kb, n_keys, dk] = self.keys.dims();
        if dq != d_query {
            return Err(ZooError::shape(
                "query",
                format!("[batch, n_queries, {d_query}]"),
                &self.query.dims(),
            ));
        }
        if kb != batch || dk != d_key || n_keys == 0 {
            return Err(ZooError::shape(
                "keys",
                format!("[{batch}, n_keys >= 1, {d_key}]"),
                &self.keys.dims(),
            ));
        }
        if let Some(values) = &self.values {
            let [vb, vn, _] = values.dims();
            if vb != batch || vn != n_keys {
                return Err(ZooError::shape(
                    "values",
                    format!("[{batch}, {n_keys}, d_value]"),
                    &values.dims(),
                ));
            }
        }
        if let Some(valid) = &self.valid
            && valid.dims() != [batch, n_keys]
        {
            return Err(ZooError::shape(
                "mask",
                format!("[{batch}, {n_keys}]"),
                &valid.dims(),
            ));
        }
        Ok(())
    }

    /// The values (the keys when none were given).
    pub(crate) fn values_or_keys(&self) -> Tensor<3> {
        self.values.clone().unwrap_or_else(|| self.keys.clone())
    }
}

/// What an attention module returns.
#[derive(Debug, Clone)]
pub struct AttentionOutput {
    /// The weighted sum of the values, `[batch, n_queries, d_value]`.
    pub context: Tensor<3>,
    /// The attention weights, `[batch, n_queries, n_keys]`: each row sums to 1 over the
    /// valid keys (0 at masked keys), or is all 0 when no key is valid.
    pub weights: Tensor<3>,
}

/// Softmax of `scores` (`[batch, n_queries, n_keys]`) over the keys, with masked keys at
/// exactly 0 weight and all-masked rows all 0.
pub fn masked_softmax(scores: Tensor<3>, valid: Option<&Tensor<2, Bool>>) -> Tensor<3> {
    let [batch, queries, keys] = scores.dims();
    let pad = valid.map(|v| {
        v.clone()
            .bool_not()
            .unsqueeze_dim::<3>(1)
            .expand([batch, queries, keys])
    });
    let scores = match &pad {
        // A large finite value: masked keys never win the max, and an all-masked row stays
        // finite (it is zeroed below).
        Some(pad) => scores.mask_fill(pad.clone(), -1.0e30),
        None => scores,
    };
    let max = scores.clone().max_dim(2).detach();
    let mut exp = (scores - max).exp();
    if let Some(pad) = pad {
        exp = exp.mask_fill(pad, 0.0);
    }
    let sum = exp.clone().sum_dim(2);
    // An all-masked row sums to 0: dividing by 1 instead keeps its weights at 0.
    let safe = sum.clone().mask_fill(sum.equal_elem(0.0), 1.0);
    exp / safe
}

/// `weights` (`[batch, n_queries, n_keys]`) applied to `values` (`[batch, n_keys, d]`).
pub(crate) fn attend(weights: Tensor<3>, values: Tensor<3>) -> AttentionOutput {
    AttentionOutput {
        context: weights.clone().matmul(values),
        weights,
    }
}
