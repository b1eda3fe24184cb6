//! Attention pooling: a learned query that sums a sequence into one vector.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Bool, Device, Tensor};
use recurrent_cells::StateDict;

use super::masked_softmax;
use crate::error::{Result, ZooError, check_size};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of an [`AttentionPooling`].
#[derive(Config, Debug, PartialEq)]
pub struct AttentionPoolingConfig {
    /// Size of each step of the pooled sequence.
    pub d_input: usize,
    /// Size of the hidden layer of the score.
    pub d_attention: usize,
}

impl AttentionPoolingConfig {
    /// Builds the module on `device`.
    ///
    /// # Panics
    ///
    /// On a zero size; [`AttentionPoolingConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> AttentionPooling {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the module, or says which size is zero.
    pub fn try_init(&self, device: &Device) -> Result<AttentionPooling> {
        check_size("d_input", self.d_input)?;
        check_size("d_attention", self.d_attention)?;
        Ok(AttentionPooling {
            proj: LinearConfig::new(self.d_input, self.d_attention).init(device),
            score: LinearConfig::new(self.d_attention, 1)
                .with_bias(false)
                .init(device),
        })
    }
}

/// Attention pooling (Yang et al. 2016, "Hierarchical Attention Networks"): each step gets
/// the score `u · tanh(W h_t + b)` against a learned context vector `u`; the pooled vector
/// is the softmax-weighted sum of the steps over the valid ones.
///
/// Weights: `proj.weight` `[d_attention, d_input]`, `proj.bias`, `score.weight` `[1,
/// d_attention]`.
#[derive(Module, Debug)]
pub struct AttentionPooling {
    /// `W`, `b`.
    pub proj: Linear,
    /// The context vector `u`.
    pub score: Linear,
}

impl AttentionPooling {
    /// Pools `x` (`[batch, seq, d_input]`) over its valid steps (`valid: [batch, seq]`, all
    /// when `None`): the pooled vectors `[batch, d_input]` and the weights `[batch, seq]`
    /// (0 at padding; all 0 for a sequence without valid steps, whose pooled vector is 0).
    pub fn forward(&self, x: Tensor<3>, valid: Option<&Tensor<2, Bool>>) -> (Tensor<2>, Tensor<2>) {
        self.try_forward(x, valid).unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`AttentionPooling::forward`], with shape errors returned.
    pub fn try_forward(
        &self,
        x: Tensor<3>,
        valid: Option<&Tensor<2, Bool>>,
    ) -> Result<(Tensor<2>, Tensor<2>)> {
        let [batch, seq, d] = x.dims();
        let d_input = self.proj.weight.val().dims()[0];
        if d != d_input || seq == 0 {
            return Err(ZooError::shape(
                "input",
                format!("[batch, seq >= 1, {d_input}]"),
                &x.dims(),
            ));
        }
        if let Some(v) = valid
            && v.dims() != [batch, seq]
        {
            return Err(ZooError::shape(
                "mask",
                format!("[{batch}, {seq}]"),
                &v.dims(),
            ));
        }
        let scores = self
            .score
            .forward(self.proj.forward(x.clone()).tanh())
            .reshape([batch, 1, seq]);
        let weights = masked_softmax(scores, valid); // [batch, 1, seq]
        let pooled = weights.clone().matmul(x).reshape([batch, d]);
        Ok((pooled, weights.reshape([batch, seq])))
    }
}

impl PytorchWeights for AttentionPooling {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.proj.export(&child(prefix, "proj"), what);
        dict.extend(self.score.export(&child(prefix, "score"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.proj = self.proj.load(dict, &child(prefix, "proj"))?;
        self.score = self.score.load(dict, &child(prefix, "score"))?;
        Ok(self)
    }
}
