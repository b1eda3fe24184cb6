//! A sequence classifier: one label per sequence (sentiment, intent, a class of series).

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use recurrent_cells::{RnnActivation, SequenceInput, StateDict, lengths_to_mask};
use serde::{Deserialize, Serialize};

use crate::attention::{AttentionPooling, AttentionPoolingConfig};
use crate::bidirectional::MergeMode;
use crate::error::{Result, ZooError, check_size};
use crate::heads::{ClassificationHead, ClassificationHeadConfig};
use crate::recurrent::RecurrentKind;
use crate::stack::{RecurrentStack, RecurrentStackConfig};
use crate::weights::{Export, PytorchWeights, child};

/// How a sequence's outputs become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The last layer's final state: each sequence's output at its last valid step (and, for
    /// a bidirectional layer, the backward direction's at step 0): Keras'
    /// `return_sequences=False`.
    #[default]
    Last,
    /// The mean of the outputs over the valid steps.
    Mean,
    /// [`AttentionPooling`] over the valid steps.
    Attention,
}

impl fmt::Display for Pooling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Last => "last",
            Self::Mean => "mean",
            Self::Attention => "attention",
        })
    }
}

impl FromStr for Pooling {
    type Err = ZooError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "last" => Ok(Self::Last),
            "mean" => Ok(Self::Mean),
            "attention" => Ok(Self::Attention),
            other => Err(ZooError::config(
                "pooling",
                format!("{other:?} (expected last, mean or attention)"),
            )),
        }
    }
}

/// Configuration of a [`SequenceClassifier`].
#[derive(Config, Debug, PartialEq)]
pub struct SequenceClassifierConfig {
    /// Features per step.
    pub d_input: usize,
    /// Classes: 2 gives one logit (binary), more one logit per class.
    pub n_classes: usize,
    /// The recurrent cell.
    #[config(default = "RecurrentKind::Lstm")]
    pub kind: RecurrentKind,
    /// The hidden size of each recurrent layer (Keras' `LSTM(64, return_sequences=True)`,
    /// `LSTM(32)` is `[64, 32]`).
    #[config(default = "vec![64]")]
    pub widths: Vec<usize>,
    /// The nonlinearity of an RNN cell (Keras' `SimpleRNN(64, activation='relu')`).
    #[config(default = "RnnActivation::Tanh")]
    pub activation: RnnActivation,
    /// Whether every layer is bidirectional.
    #[config(default = false)]
    pub bidirectional: bool,
    /// How bidirectional layers merge their directions.
    #[config(default = "MergeMode::Concat")]
    pub merge: MergeMode,
    /// How the outputs are pooled.
    #[config(default = "Pooling::Last")]
    pub pooling: Pooling,
    /// Hidden size of the attention pooling's score.
    #[config(default = 64)]
    pub d_attention: usize,
    /// Dropout between layers and before the read-out, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Variational recurrent dropout inside the recurrent layers, training only.
    #[config(default = 0.0)]
    pub recurrent_dropout: f64,
}

impl SequenceClassifierConfig {
    /// Builds the classifier on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`SequenceClassifierConfig::try_init`] returns it.
    pub fn init(&self, device: &Device) -> SequenceClassifier {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the classifier, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<SequenceClassifier> {
        check_size("d_input", self.d_input)?;
        let rnn = RecurrentStackConfig::new(self.kind, self.d_input, self.widths.clone())
            .with_activation(self.activation)
            .with_bidirectional(self.bidirectional)
            .with_merge(self.merge)
            .with_dropout(self.dropout)
            .with_recurrent_dropout(self.recurrent_dropout)
            .try_init(device)?;
        let d = rnn.d_output();
        let attention = (self.pooling == Pooling::Attention)
            .then(|| AttentionPoolingConfig::new(d, self.d_attention).try_init(device))
            .transpose()?;
        Ok(SequenceClassifier {
            rnn,
            attention,
            pooling: self.pooling,
            head: ClassificationHeadConfig::new(d, self.n_classes)
                .with_dropout(self.dropout)
                .try_init(device)?,
        })
    }
}

/// A sequence classifier (the Keras tutorial's model, generalised):
///
/// ```text
/// x [batch, seq, d_input] ── RecurrentStack (widths, bidirectional; lengths)
///   ── pooling: last valid step | mean over valid steps | attention ── [batch, d]
///   ── ClassificationHead ── logits [batch, 1] (binary) or [batch, n_classes]
/// ```
///
/// The Keras tutorial's `LSTM(64, return_sequences=True)`, `LSTM(32)`, `Dense(1,
/// activation='sigmoid')` is
/// `SequenceClassifierConfig::new(1, 2).with_widths(vec![64, 32])`.
///
/// Weights: `rnn.*` (see [`RecurrentStack`]), `attention.proj.*`, `attention.score.*`,
/// `head.weight`, `head.bias`.
#[derive(Module, Debug)]
pub struct SequenceClassifier {
    /// The recurrent layers.
    pub rnn: RecurrentStack,
    /// The attention pooling, with [`Pooling::Attention`].
    pub attention: Option<AttentionPooling>,
    /// How outputs are pooled.
    #[module(skip)]
    pub pooling: Pooling,
    /// The read-out.
    pub head: ClassificationHead,
}

impl SequenceClassifier {
    /// The logits of `x` (`[batch, seq, d_input]`) whose valid steps are `lengths`
    /// (`[batch]`, all when `None`): `[batch, 1]` for a binary classifier, else `[batch,
    /// n_classes]`.
    ///
    /// # Panics
    ///
    /// On a wrong shape; [`SequenceClassifier::try_forward`] returns the error.
    pub fn forward(&self, x: Tensor<3>, lengths: Option<Tensor<1, Int>>) -> Tensor<2> {
        self.try_forward(x, lengths)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`SequenceClassifier::forward`], with errors returned.
    pub fn try_forward(&self, x: Tensor<3>, lengths: Option<Tensor<1, Int>>) -> Result<Tensor<2>> {
        let [batch, seq, _] = x.dims();
        let mut input = SequenceInput::new(x);
        if let Some(l) = &lengths {
            input = input.lengths(l.clone());
        }
        let (out, state) = self.rnn.try_forward_input(input)?;
        let pooled = match self.pooling {
            Pooling::Last => self.rnn.last_hidden(&state),
            Pooling::Mean => {
                let d = out.dims()[2];
                // Padding outputs are exactly 0, so the sum runs over the valid steps.
                let sum = out.sum_dim(1).reshape([batch, d]);
                let count = match &lengths {
                    Some(l) => l.clone().float().clamp_min(1.0).reshape([batch, 1]),
                    None => Tensor::full([batch, 1], seq as f32, &sum.device()),
                };
                sum / count
            }
            Pooling::Attention => {
                let valid = lengths.map(|l| lengths_to_mask(l, seq));
                let attention = self
                    .attention
                    .as_ref()
                    .expect("built with attention pooling");
                attention.try_forward(out, valid.as_ref())?.0
            }
        };
        Ok(self.head.forward(pooled))
    }

    /// Class probabilities of `logits` (see [`ClassificationHead::probabilities`]).
    pub fn probabilities(&self, logits: Tensor<2>) -> Tensor<2> {
        self.head.probabilities(logits)
    }
}

impl PytorchWeights for SequenceClassifier {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.rnn.export(&child(prefix, "rnn"), what);
        dict.extend(self.attention.export(&child(prefix, "attention"), what));
        dict.extend(self.head.export(&child(prefix, "head"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.rnn = self.rnn.load(dict, &child(prefix, "rnn"))?;
        self.attention = self.attention.load(dict, &child(prefix, "attention"))?;
        self.head = self.head.load(dict, &child(prefix, "head"))?;
        Ok(self)
    }
}
