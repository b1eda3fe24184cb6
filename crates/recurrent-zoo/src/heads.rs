//! Task heads: the read-outs that turn recurrent features into a task's outputs.
//!
//! | head | input | output |
//! |---|---|---|
//! | [`ClassificationHead`] | `[batch, d_input]` (a pooled sequence) | `[batch, 1]` logit (binary) or `[batch, n_classes]` |
//! | [`TaggingHead`] | `[batch, seq, d_input]` | `[batch, seq, n_tags]` per-step logits |
//! | [`ForecastHead`] | `[batch, d_input]` (the last state) | `[batch, horizon]` values (direct multi-horizon) |
//! | [`LanguageModelHead`] | `[batch, seq, d_input]` | `[batch, seq, vocab]` next-token logits |
//!
//! Each is dropout then a linear layer; its weights are the linear layer's (`weight` as
//! `[outputs, d_input]`, `bias`), so a head named `head` in a model writes `head.weight`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Tensor};
use recurrent_cells::StateDict;

use crate::error::{Result, ZooError, check_rate, check_size};
use crate::weights::{Export, PytorchWeights};

/// A linear read-out with dropout before it: the body of every head.
#[derive(Module, Debug)]
struct Readout {
    dropout: Dropout,
    linear: Linear,
}

fn readout(d_input: usize, outputs: usize, dropout: f64, device: &Device) -> Result<Readout> {
    check_size("head d_input", d_input)?;
    check_size("head outputs", outputs)?;
    check_rate("head dropout", dropout)?;
    Ok(Readout {
        dropout: DropoutConfig::new(dropout).init(),
        linear: LinearConfig::new(d_input, outputs).init(device),
    })
}

impl Readout {
    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.linear.forward(self.dropout.forward(x))
    }
}

macro_rules! head_weights {
    ($head:ty) => {
        impl PytorchWeights for $head {
            fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
                self.readout.linear.export(prefix, what)
            }

            fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
                self.readout.linear = self.readout.linear.load(dict, prefix)?;
                Ok(self)
            }
        }
    };
}

/// Configuration of a [`ClassificationHead`].
#[derive(Config, Debug, PartialEq)]
pub struct ClassificationHeadConfig {
    /// Size of the pooled features.
    pub d_input: usize,
    /// Number of classes: 2 gives one logit (binary, sigmoid: Keras' `Dense(1,
    /// activation='sigmoid')`), more give one logit per class (softmax).
    pub n_classes: usize,
    /// Dropout before the read-out, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ClassificationHeadConfig {
    /// Builds the head, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<ClassificationHead> {
        if self.n_classes < 2 {
            return Err(ZooError::config(
                "n_classes",
                format!("{} (a classifier needs at least 2 classes)", self.n_classes),
            ));
        }
        let outputs = if self.n_classes == 2 {
            1
        } else {
            self.n_classes
        };
        Ok(ClassificationHead {
            readout: readout(self.d_input, outputs, self.dropout, device)?,
        })
    }
}

/// Classification of a pooled sequence: `[batch, d_input]` → logits `[batch, 1]` (binary)
/// or `[batch, n_classes]`.
#[derive(Module, Debug)]
pub struct ClassificationHead {
    readout: Readout,
}

impl ClassificationHead {
    /// The logits of `x` (`[batch, d_input]`).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.readout.forward(x)
    }

    /// Whether this head has one logit (binary classification).
    pub fn is_binary(&self) -> bool {
        self.readout.linear.weight.val().dims()[1] == 1
    }

    /// Class probabilities of `logits`: `[batch, 1]` of `sigmoid` (the probability of class
    /// 1) for a binary head, else `[batch, n_classes]` of `softmax`.
    pub fn probabilities(&self, logits: Tensor<2>) -> Tensor<2> {
        if self.is_binary() {
            sigmoid(logits)
        } else {
            softmax(logits, 1)
        }
    }
}

head_weights!(ClassificationHead);

/// Configuration of a [`TaggingHead`].
#[derive(Config, Debug, PartialEq)]
pub struct TaggingHeadConfig {
    /// Size of each step's features.
    pub d_input: usize,
    /// Number of tags.
    pub n_tags: usize,
    /// Dropout before the read-out, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl TaggingHeadConfig {
    /// Builds the head, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<TaggingHead> {
        Ok(TaggingHead {
            readout: readout(self.d_input, self.n_tags, self.dropout, device)?,
        })
    }
}

/// Per-step tagging: `[batch, seq, d_input]` → tag logits `[batch, seq, n_tags]`.
#[derive(Module, Debug)]
pub struct TaggingHead {
    readout: Readout,
}

impl TaggingHead {
    /// The tag logits of every step of `x`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.readout.forward(x)
    }
}

head_weights!(TaggingHead);

/// Configuration of a [`ForecastHead`].
#[derive(Config, Debug, PartialEq)]
pub struct ForecastHeadConfig {
    /// Size of the features read (the last hidden state).
    pub d_input: usize,
    /// Values forecast at once (the horizon, or the columns of one step).
    pub horizon: usize,
    /// Dropout before the read-out, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ForecastHeadConfig {
    /// Builds the head, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<ForecastHead> {
        Ok(ForecastHead {
            readout: readout(self.d_input, self.horizon, self.dropout, device)?,
        })
    }
}

/// Direct multi-horizon forecasting: `[..., d_input]` → `[..., horizon]` values.
#[derive(Module, Debug)]
pub struct ForecastHead {
    readout: Readout,
}

impl ForecastHead {
    /// The forecast of `x` (`[batch, d_input]`, or `[batch, steps, d_input]`).
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.readout.forward(x)
    }

    /// Values read out at once.
    pub fn n_outputs(&self) -> usize {
        self.readout.linear.weight.val().dims()[1]
    }
}

head_weights!(ForecastHead);

/// Configuration of a [`LanguageModelHead`].
#[derive(Config, Debug, PartialEq)]
pub struct LanguageModelHeadConfig {
    /// Size of each step's features.
    pub d_input: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Dropout before the read-out, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl LanguageModelHeadConfig {
    /// Builds the head, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<LanguageModelHead> {
        Ok(LanguageModelHead {
            readout: readout(self.d_input, self.vocab, self.dropout, device)?,
        })
    }
}

/// Next-token logits: `[batch, seq, d_input]` → `[batch, seq, vocab]`.
#[derive(Module, Debug)]
pub struct LanguageModelHead {
    readout: Readout,
}

impl LanguageModelHead {
    /// The next-token logits of every step of `x`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.readout.forward(x)
    }
}

head_weights!(LanguageModelHead);
