//! Multiplicative (Luong) attention.

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;
use recurrent_cells::StateDict;
use serde::{Deserialize, Serialize};

use super::{AttentionInput, AttentionOutput, attend, masked_softmax};
use crate::error::{Result, ZooError, check_size};
use crate::weights::{Export, PytorchWeights, child};

/// Luong's score functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LuongScore {
    /// `q · k` (`d_query == d_key`).
    #[default]
    Dot,
    /// `q · (W k)`, with a learned `W` `[d_query, d_key]` (PyTorch: `Wa = nn.Linear(d_key,
    /// d_query, bias=False)`, score `q · Wa(k)`).
    General,
    /// `q · k / sqrt(d)` (the Transformer's scaling; `d_query == d_key`).
    Scaled,
}

impl fmt::Display for LuongScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dot => "dot",
            Self::General => "general",
            Self::Scaled => "scaled",
        })
    }
}

impl FromStr for LuongScore {
    type Err = ZooError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "dot" => Ok(Self::Dot),
            "general" => Ok(Self::General),
            "scaled" => Ok(Self::Scaled),
            other => Err(ZooError::config(
                "score",
                format!("{other:?} (expected dot, general or scaled)"),
            )),
        }
    }
}

/// Configuration of a [`DotAttention`].
#[derive(Config, Debug, PartialEq)]
pub struct DotAttentionConfig {
    /// Size of a query.
    pub d_query: usize,
    /// Size of a key.
    pub d_key: usize,
    /// The score function.
    #[config(default = "LuongScore::Dot")]
    pub score: LuongScore,
}

impl DotAttentionConfig {
    /// Builds the module on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`DotAttentionConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> DotAttention {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the module, or says what is wrong (a zero size, or `dot`/`scaled` with
    /// different query and key sizes).
    pub fn try_init(&self, device: &Device) -> Result<DotAttention> {
        check_size("d_query", self.d_query)?;
        check_size("d_key", self.d_key)?;
        if self.score != LuongScore::General && self.d_query != self.d_key {
            return Err(ZooError::config(
                "score",
                format!(
                    "{} needs d_query == d_key, got {} and {} (use general)",
                    self.score, self.d_query, self.d_key
                ),
            ));
        }
        Ok(DotAttention {
            wa: (self.score == LuongScore::General).then(|| {
                LinearConfig::new(self.d_key, self.d_query)
                    .with_bias(false)
                    .init(device)
            }),
            scale: match self.score {
                LuongScore::Scaled => 1.0 / (self.d_key as f64).sqrt(),
                _ => 1.0,
            },
            d_query: self.d_query,
            d_key: self.d_key,
        })
    }
}

/// Multiplicative attention (Luong, Pham & Manning 2015):
///
/// ```text
/// score(q, k_j) = q · k_j  |  q · Wa(k_j)  |  q · k_j / sqrt(d)
/// weights = softmax_j(score)   (masked keys: 0)
/// context = sum_j weights_j v_j
/// ```
///
/// Weights (`general` only): `Wa.weight` `[d_query, d_key]`.
#[derive(Module, Debug)]
pub struct DotAttention {
    /// The `general` score's projection of the keys.
    pub wa: Option<Linear>,
    scale: f64,
    d_query: usize,
    d_key: usize,
}

impl DotAttention {
    /// Attends `input.query` (`[batch, n_queries, d_query]`) over `input.keys` (`[batch,
    /// n_keys, d_key]`): context `[batch, n_queries, d_value]`, weights `[batch, n_queries,
    /// n_keys]`.
    ///
    /// # Panics
    ///
    /// On a wrong shape; [`DotAttention::try_forward`] returns the error.
    pub fn forward(&self, input: AttentionInput) -> AttentionOutput {
        self.try_forward(input).unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`DotAttention::forward`], with shape errors returned.
    pub fn try_forward(&self, input: AttentionInput) -> Result<AttentionOutput> {
        input.check(self.d_query, self.d_key)?;
        let keys = match &self.wa {
            Some(wa) => wa.forward(input.keys.clone()),
            None => input.keys.clone(),
        };
        let mut scores = input.query.clone().matmul(keys.swap_dims(1, 2));
        if self.scale != 1.0 {
            scores = scores * self.scale;
        }
        let weights = masked_softmax(scores, input.valid.as_ref());
        Ok(attend(weights, input.values_or_keys()))
    }
}

impl PytorchWeights for DotAttention {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        self.wa.export(&child(prefix, "Wa"), what)
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.wa = self.wa.load(dict, &child(prefix, "Wa"))?;
        Ok(self)
    }
}
