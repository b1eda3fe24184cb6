//! Additive (Bahdanau) attention.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;
use recurrent_cells::StateDict;

use super::{AttentionInput, AttentionOutput, attend, masked_softmax};
use crate::error::{Result, check_size};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of an [`AdditiveAttention`].
#[derive(Config, Debug, PartialEq)]
pub struct AdditiveAttentionConfig {
    /// Size of a query.
    pub d_query: usize,
    /// Size of a key.
    pub d_key: usize,
    /// Size of the hidden layer of the score.
    pub d_attention: usize,
}

impl AdditiveAttentionConfig {
    /// Builds the module on `device`.
    ///
    /// # Panics
    ///
    /// On a zero size; [`AdditiveAttentionConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> AdditiveAttention {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the module, or says which size is zero.
    pub fn try_init(&self, device: &Device) -> Result<AdditiveAttention> {
        check_size("d_query", self.d_query)?;
        check_size("d_key", self.d_key)?;
        check_size("d_attention", self.d_attention)?;
        Ok(AdditiveAttention {
            wa: LinearConfig::new(self.d_query, self.d_attention).init(device),
            ua: LinearConfig::new(self.d_key, self.d_attention).init(device),
            va: LinearConfig::new(self.d_attention, 1).init(device),
            d_query: self.d_query,
            d_key: self.d_key,
        })
    }
}

/// Additive attention (Bahdanau, Cho & Bengio 2015), as in PyTorch's seq2seq tutorial:
///
/// ```text
/// score(q, k_j) = Va(tanh(Wa(q) + Ua(k_j)))
/// weights = softmax_j(score)   (masked keys: 0)
/// context = sum_j weights_j v_j
/// ```
///
/// Weights under the tutorial's names: `Wa.weight` `[d_attention, d_query]`, `Wa.bias`,
/// `Ua.*`, `Va.weight` `[1, d_attention]`, `Va.bias`.
#[derive(Module, Debug)]
pub struct AdditiveAttention {
    /// The query projection `Wa`.
    pub wa: Linear,
    /// The key projection `Ua`.
    pub ua: Linear,
    /// The score vector `Va`.
    pub va: Linear,
    d_query: usize,
    d_key: usize,
}

impl AdditiveAttention {
    /// Attends `input.query` (`[batch, n_queries, d_query]`) over `input.keys` (`[batch,
    /// n_keys, d_key]`): context `[batch, n_queries, d_value]`, weights `[batch, n_queries,
    /// n_keys]`.
    ///
    /// # Panics
    ///
    /// On a wrong shape; [`AdditiveAttention::try_forward`] returns the error.
    pub fn forward(&self, input: AttentionInput) -> AttentionOutput {
        self.try_forward(input).unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`AdditiveAttention::forward`], with shape errors returned.
    pub fn try_forward(&self, input: AttentionInput) -> Result<AttentionOutput> {
        input.check(self.d_query, self.d_key)?;
        let [batch, n_queries, _] = input.query.dims();
        let n_keys = input.keys.dims()[1];
        let d = self.wa.weight.val().dims()[1];
        let q = self
            .wa
            .forward(input.query.clone())
            .unsqueeze_dim::<4>(2)
            .expand([batch, n_queries, n_keys, d]);
        let k = self
            .ua
            .forward(input.keys.clone())
            .unsqueeze_dim::<4>(1)
            .expand([batch, n_queries, n_keys, d]);
        let scores = self
            .va
            .forward((q + k).tanh())
            .reshape([batch, n_queries, n_keys]);
        let weights = masked_softmax(scores, input.valid.as_ref());
        Ok(attend(weights, input.values_or_keys()))
    }
}

impl PytorchWeights for AdditiveAttention {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.wa.export(&child(prefix, "Wa"), what);
        dict.extend(self.ua.export(&child(prefix, "Ua"), what));
        dict.extend(self.va.export(&child(prefix, "Va"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.wa = self.wa.load(dict, &child(prefix, "Wa"))?;
        self.ua = self.ua.load(dict, &child(prefix, "Ua"))?;
        self.va = self.va.load(dict, &child(prefix, "Va"))?;
        Ok(self)
    }
}
