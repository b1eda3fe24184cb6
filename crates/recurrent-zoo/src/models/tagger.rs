//! A sequence tagger: one label per token (part of speech, named entities, chunks).

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};
use recurrent_cells::{SequenceInput, StateDict};
use serde::{Deserialize, Serialize};

use crate::attention::{SelfAttentionBlock, SelfAttentionBlockConfig};
use crate::bidirectional::MergeMode;
use crate::conv::{CharCnn, CharCnnConfig, ConvFrontEnd, ConvFrontEndConfig};
use crate::error::{Result, ZooError, check_rate, check_size};
use crate::heads::{TaggingHead, TaggingHeadConfig};
use crate::recurrent::RecurrentKind;
use crate::stack::{RecurrentStack, RecurrentStackConfig};
use crate::transformer::{
    FeedForwardActivation, PositionKind, Positions, TransformerLayers, TransformerLayersConfig,
    padding_mask,
};
use crate::weights::{Export, PytorchWeights, child};

/// The tagger's network between the token features and the read-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TaggerArchitecture {
    /// A bidirectional recurrent encoder (Huang, Xu & Yu 2015's BiLSTM).
    #[default]
    #[serde(rename = "bilstm")]
    BiRecurrent,
    /// The encoder, then multi-head self-attention over its outputs.
    #[serde(rename = "bilstm-attention")]
    BiRecurrentAttention,
    /// A convolution over the token features (a window of neighbouring tokens), then the
    /// encoder.
    #[serde(rename = "cnn-bilstm")]
    CnnBiRecurrent,
    /// A Transformer encoder over the token features (projected to `2 d_hidden`, sinusoidal
    /// positions, `n_layers` pre-norm layers of `n_heads` heads, padding masked).
    #[serde(rename = "transformer")]
    Transformer,
}

impl TaggerArchitecture {
    /// The name on command lines: `bilstm`, `bilstm-attention`, `cnn-bilstm`, `transformer`
    /// (the cell of the recurrent ones is chosen separately).
    pub fn name(self) -> &'static str {
        match self {
            Self::BiRecurrent => "bilstm",
            Self::BiRecurrentAttention => "bilstm-attention",
            Self::CnnBiRecurrent => "cnn-bilstm",
            Self::Transformer => "transformer",
        }
    }
}

impl fmt::Display for TaggerArchitecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TaggerArchitecture {
    type Err = ZooError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "bilstm" => Ok(Self::BiRecurrent),
            "bilstm-attention" => Ok(Self::BiRecurrentAttention),
            "cnn-bilstm" => Ok(Self::CnnBiRecurrent),
            "transformer" => Ok(Self::Transformer),
            other => Err(ZooError::config(
                "model",
                format!("{other:?} (expected bilstm, bilstm-attention, cnn-bilstm or transformer)"),
            )),
        }
    }
}

/// Configuration of a [`Tagger`]: the network only (vocabulary sizes included, no data
/// paths or training settings).
#[derive(Config, Debug, PartialEq)]
pub struct TaggerConfig {
    /// Words in the vocabulary (`<pad>` = 0 and `<unk>` included).
    pub n_words: usize,
    /// Characters in the vocabulary (`<pad>` = 0 included); unused without character
    /// features.
    pub n_chars: usize,
    /// Tags (output classes).
    pub n_tags: usize,
    /// The network between the features and the read-out.
    #[config(default = "TaggerArchitecture::BiRecurrent")]
    pub architecture: TaggerArchitecture,
    /// Word embedding size.
    #[config(default = 64)]
    pub d_word: usize,
    /// Character embedding size.
    #[config(default = 24)]
    pub d_char: usize,
    /// Character-CNN features per token; 0 turns character features off.
    #[config(default = 50)]
    pub char_features: usize,
    /// Width of the character CNN's filters (odd).
    #[config(default = 3)]
    pub char_kernel: usize,
    /// The recurrent cell of the bidirectional encoder.
    #[config(default = "RecurrentKind::Lstm")]
    pub kind: RecurrentKind,
    /// Hidden size of each direction (`transformer`: half the model size).
    #[config(default = 128)]
    pub d_hidden: usize,
    /// Bidirectional layers (`transformer`: encoder layers).
    #[config(default = 1)]
    pub n_layers: usize,
    /// How each layer merges its two directions.
    #[config(default = "MergeMode::Concat")]
    pub merge: MergeMode,
    /// Attention heads of `bilstm-attention` and `transformer`.
    #[config(default = 4)]
    pub n_heads: usize,
    /// Filters of `cnn-bilstm`'s token convolution.
    #[config(default = 128)]
    pub conv_channels: usize,
    /// Width (in tokens, odd) of `cnn-bilstm`'s token convolution.
    #[config(default = 3)]
    pub conv_kernel: usize,
    /// Dropout on the token features, between layers and before the read-out.
    #[config(default = 0.33)]
    pub dropout: f64,
}

impl TaggerConfig {
    /// Builds the tagger on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`TaggerConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> Tagger {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the tagger, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<Tagger> {
        check_size("n_words", self.n_words)?;
        check_size("n_tags", self.n_tags)?;
        check_size("d_word", self.d_word)?;
        check_rate("dropout", self.dropout)?;
        let char_cnn = (self.char_features > 0)
            .then(|| {
                CharCnnConfig::new(self.n_chars)
                    .with_d_embed(self.d_char)
                    .with_features(self.char_features)
                    .with_kernel(self.char_kernel)
                    .try_init(device)
            })
            .transpose()?;
        let mut d_features = self.d_word + self.char_features;
        let token_conv = match self.architecture {
            TaggerArchitecture::CnnBiRecurrent => {
                let conv = ConvFrontEndConfig::new(d_features, self.conv_channels)
                    .with_kernel(self.conv_kernel)
                    .try_init(device)?;
                d_features = self.conv_channels;
                Some(conv)
            }
            _ => None,
        };
        let (encoder, transformer, d_encoded) = if self.architecture
            == TaggerArchitecture::Transformer
        {
            let d_model = 2 * self.d_hidden;
            let layers =
                TransformerLayersConfig::new(d_model, self.n_heads, 2 * d_model, self.n_layers)
                    .with_dropout(self.dropout)
                    .with_norm_first(true)
                    .with_activation(FeedForwardActivation::Gelu)
                    .try_init(device)?;
            let tokens = TransformerTokens {
                project: LinearConfig::new(d_features, d_model).init(device),
                positions: Positions::new(PositionKind::Sinusoidal, MAX_TOKENS, d_model, device),
                layers,
            };
            (None, Some(tokens), d_model)
        } else {
            let encoder =
                RecurrentStackConfig::uniform(self.kind, d_features, self.d_hidden, self.n_layers)
                    .with_bidirectional(true)
                    .with_merge(self.merge)
                    .with_dropout(self.dropout)
                    .try_init(device)?;
            let d = encoder.d_output();
            (Some(encoder), None, d)
        };
        let attention = match self.architecture {
            TaggerArchitecture::BiRecurrentAttention => Some(
                SelfAttentionBlockConfig::new(d_encoded)
                    .with_n_heads(self.n_heads)
                    .with_dropout(self.dropout)
                    .try_init(device)?,
            ),
            _ => None,
        };
        Ok(Tagger {
            word_embed: EmbeddingConfig::new(self.n_words, self.d_word).init(device),
            char_cnn,
            token_conv,
            encoder,
            transformer,
            attention,
            dropout: DropoutConfig::new(self.dropout).init(),
            head: TaggingHeadConfig::new(d_encoded, self.n_tags).try_init(device)?,
        })
    }
}

/// The longest sentence (in tokens) the `transformer` architecture takes.
pub const MAX_TOKENS: usize = 1024;

/// The `transformer` architecture's encoder: the token features projected to the model
/// size, sinusoidal positions, and pre-norm encoder layers.
#[derive(Module, Debug)]
pub struct TransformerTokens {
    /// Token features to the model size.
    pub project: Linear,
    /// Positions.
    pub positions: Positions,
    /// The encoder layers.
    pub layers: TransformerLayers,
}

/// A sequence tagger (Lample et al. 2016 / Ma & Hovy 2016 without the CRF):
///
/// ```text
/// words [b, s] ── Embedding ───────────────────────────────┐
/// chars [b, s, c] ── CharCnn (embedding, conv, max) ────────┴─ concat ── Dropout
///   ── [cnn-bilstm: ConvFrontEnd over tokens]
///   ── RecurrentStack (bidirectional, merge mode; lengths)
///      | [transformer: Linear ── sinusoids ── TransformerLayers (padding masked)]
///   ── [bilstm-attention: SelfAttentionBlock]
///   ── Dropout ── TaggingHead ── logits [b, s, n_tags]
/// ```
///
/// Padding never reaches a real token's score: padded characters are masked in the
/// character CNN, the token convolution sees zeros at padded tokens, the encoder runs each
/// sentence over its own length (the backward direction starts at its last token), and
/// attention never attends to padding.
///
/// Weights: `word_embed.weight`, `char_cnn.embed.weight`, `char_cnn.conv.*`,
/// `token_conv.conv.*`, `encoder.layers.K.forward.*` / `.backward.*` (`transformer`:
/// `project.*`, `transformer.layers.K.*`, `transformer.norm.*`), `attention.*`,
/// `norm.*` under `attention.`, `head.weight` `[n_tags, d]`, `head.bias`.
#[derive(Module, Debug)]
pub struct Tagger {
    /// Word embeddings.
    pub word_embed: Embedding,
    /// Character features.
    pub char_cnn: Option<CharCnn>,
    /// The token convolution of `cnn-bilstm`.
    pub token_conv: Option<ConvFrontEnd>,
    /// The bidirectional recurrent encoder (every architecture but `transformer`).
    pub encoder: Option<RecurrentStack>,
    /// The Transformer encoder of `transformer`.
    pub transformer: Option<TransformerTokens>,
    /// The self-attention of `bilstm-attention`.
    pub attention: Option<SelfAttentionBlock>,
    /// Dropout on the features and before the read-out.
    pub dropout: Dropout,
    /// The read-out.
    pub head: TaggingHead,
}

impl Tagger {
    /// Tag logits `[batch, seq, n_tags]` of a padded batch.
    ///
    /// - `words`: word ids `[batch, seq]`, padded with 0;
    /// - `chars`: character ids `[batch, seq, max_chars]`, padded with 0;
    /// - `lengths`: tokens of each sentence `[batch]`.
    ///
    /// Logits at padded steps are meaningless; nothing at a padded step changes a real one.
    pub fn forward(
        &self,
        words: Tensor<2, Int>,
        chars: Tensor<3, Int>,
        lengths: Tensor<1, Int>,
    ) -> Tensor<3> {
        let mut x = self.word_embed.forward(words);
        if let Some(cnn) = &self.char_cnn {
            x = Tensor::cat(vec![x, cnn.forward(chars)], 2);
        }
        let mut x = self.dropout.forward(x);
        if let Some(conv) = &self.token_conv {
            x = conv
                .try_forward(x, Some(lengths.clone()))
                .unwrap_or_else(|e| panic!("{e}"))
                .0;
        }
        let mut h = match (&self.encoder, &self.transformer) {
            (Some(encoder), _) => {
                let input = SequenceInput::new(x).lengths(lengths.clone());
                encoder.forward_input(input).0
            }
            (None, Some(t)) => {
                let seq = x.dims()[1];
                let x = t
                    .positions
                    .try_forward(t.project.forward(x), 0)
                    .unwrap_or_else(|e| panic!("{e}"));
                t.layers
                    .forward(x, Some(padding_mask(lengths.clone(), seq)), false)
            }
            (None, None) => unreachable!("a tagger has an encoder"),
        };
        if let Some(attention) = &self.attention {
            h = attention.forward(h, Some(lengths));
        }
        self.head.forward(self.dropout.forward(h))
    }
}

impl PytorchWeights for Tagger {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.word_embed.export(&child(prefix, "word_embed"), what);
        dict.extend(self.char_cnn.export(&child(prefix, "char_cnn"), what));
        dict.extend(self.token_conv.export(&child(prefix, "token_conv"), what));
        dict.extend(self.encoder.export(&child(prefix, "encoder"), what));
        if let Some(t) = &self.transformer {
            dict.extend(t.project.export(&child(prefix, "project"), what));
            dict.extend(t.layers.export(&child(prefix, "transformer"), what));
        }
        dict.extend(self.attention.export(&child(prefix, "attention"), what));
        dict.extend(self.head.export(&child(prefix, "head"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.word_embed = self.word_embed.load(dict, &child(prefix, "word_embed"))?;
        self.char_cnn = self.char_cnn.load(dict, &child(prefix, "char_cnn"))?;
        self.token_conv = self.token_conv.load(dict, &child(prefix, "token_conv"))?;
        self.encoder = self.encoder.load(dict, &child(prefix, "encoder"))?;
        if let Some(mut t) = self.transformer.take() {
            t.project = t.project.load(dict, &child(prefix, "project"))?;
            t.layers = t.layers.load(dict, &child(prefix, "transformer"))?;
            self.transformer = Some(t);
        }
        self.attention = self.attention.load(dict, &child(prefix, "attention"))?;
        self.head = self.head.load(dict, &child(prefix, "head"))?;
        Ok(self)
    }
}
