//! A Transformer encoder classifier: one label per sequence.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig};
use burn::tensor::{Device, Int, Tensor};
use recurrent_cells::{StateDict, lengths_to_mask};

use super::FeedForwardActivation;
use super::layers::{TransformerLayers, TransformerLayersConfig, padding_mask};
use super::positions::{PositionKind, Positions};
use crate::error::{Result, ZooError, check_size};
use crate::heads::{ClassificationHead, ClassificationHeadConfig};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of a [`TransformerClassifier`].
#[derive(Config, Debug, PartialEq)]
pub struct TransformerClassifierConfig {
    /// Vocabulary size (`<pad>` included).
    pub vocab: usize,
    /// Classes (2: one logit, binary).
    pub n_classes: usize,
    /// Size of each step.
    #[config(default = 64)]
    pub d_model: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub n_heads: usize,
    /// Hidden size of the feed-forward networks.
    #[config(default = 128)]
    pub d_ff: usize,
    /// Layers.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Dropout, training only.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// The longest sequence.
    #[config(default = 512)]
    pub max_len: usize,
    /// Sinusoidal or learned positions.
    #[config(default = "PositionKind::Sinusoidal")]
    pub positions: PositionKind,
    /// The feed-forward activation.
    #[config(default = "FeedForwardActivation::Gelu")]
    pub activation: FeedForwardActivation,
    /// Pre-norm layers.
    #[config(default = true)]
    pub norm_first: bool,
}

impl TransformerClassifierConfig {
    /// Builds the classifier, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<TransformerClassifier> {
        check_size("vocab", self.vocab)?;
        check_size("max_len", self.max_len)?;
        Ok(TransformerClassifier {
            embed: EmbeddingConfig::new(self.vocab, self.d_model).init(device),
            positions: Positions::new(self.positions, self.max_len, self.d_model, device),
            encoder: TransformerLayersConfig::new(
                self.d_model,
                self.n_heads,
                self.d_ff,
                self.n_layers,
            )
            .with_dropout(self.dropout)
            .with_norm_first(self.norm_first)
            .with_activation(self.activation)
            .try_init(device)?,
            dropout: DropoutConfig::new(self.dropout).init(),
            head: ClassificationHeadConfig::new(self.d_model, self.n_classes).try_init(device)?,
        })
    }
}

/// A Transformer encoder with masked mean pooling (BERT-style classification without a
/// `[CLS]` token):
///
/// ```text
/// ids [batch, seq] ── Embedding + Positions ── Dropout ── TransformerLayers (padding masked)
///   ── mean over each row's real steps ── ClassificationHead ── logits [batch, 1 | classes]
/// ```
///
/// Weights: `embed.weight`, `positions.weight` (learned), `encoder.*` (see
/// [`TransformerLayers`]), `head.*`.
#[derive(Module, Debug)]
pub struct TransformerClassifier {
    /// Token embeddings.
    pub embed: Embedding,
    /// Positions.
    pub positions: Positions,
    /// The encoder.
    pub encoder: TransformerLayers,
    /// Dropout on the embeddings.
    pub dropout: Dropout,
    /// The read-out.
    pub head: ClassificationHead,
}

impl TransformerClassifier {
    /// Logits of a padded batch `ids` (`[batch, seq]`) with `lengths` (`[batch]`, each in
    /// `1..=seq`); padding changes nothing.
    ///
    /// Errors: a sequence longer than the model's positions, or lengths that do not fit.
    pub fn try_forward(&self, ids: Tensor<2, Int>, lengths: Tensor<1, Int>) -> Result<Tensor<2>> {
        let [batch, seq] = ids.dims();
        if lengths.dims() != [batch] {
            return Err(ZooError::shape(
                "lengths",
                format!("[{batch}]"),
                &lengths.dims(),
            ));
        }
        let x = self.positions.try_forward(self.embed.forward(ids), 0)?;
        let h = self.encoder.forward(
            self.dropout.forward(x),
            Some(padding_mask(lengths.clone(), seq)),
            false,
        );
        let valid = lengths_to_mask(lengths.clone(), seq)
            .float()
            .unsqueeze_dim::<3>(2);
        let pooled = (h * valid).sum_dim(1).squeeze_dim::<2>(1)
            / lengths.float().clamp_min(1.0).unsqueeze_dim::<2>(1);
        Ok(self.head.forward(pooled))
    }
}

impl PytorchWeights for TransformerClassifier {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.embed.export(&child(prefix, "embed"), what);
        dict.extend(self.positions.export(&child(prefix, "positions"), what));
        dict.extend(self.encoder.export(&child(prefix, "encoder"), what));
        dict.extend(self.head.export(&child(prefix, "head"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.embed = self.embed.load(dict, &child(prefix, "embed"))?;
        self.positions = self.positions.load(dict, &child(prefix, "positions"))?;
        self.encoder = self.encoder.load(dict, &child(prefix, "encoder"))?;
        self.head = self.head.load(dict, &child(prefix, "head"))?;
        Ok(self)
    }
}
