//! The task models: each a `XxxConfig` (the network only: no data paths, no training
//! settings) and a `Xxx` module with `init(&device)`, `forward` and PyTorch-named weights.

mod backbone;
mod char_lm;
mod classifier;
mod forecaster;
mod language_model;
pub(crate) mod seq2seq;
mod tagger;
mod translator;

pub use backbone::{Backbone, BackboneConfig, BackboneKind, TransformerBackbone};
pub use char_lm::{CharLm, CharLmConfig};
pub use classifier::{Pooling, SequenceClassifier, SequenceClassifierConfig};
pub use forecaster::{ForecastArchitecture, Forecaster, ForecasterConfig};
pub use language_model::{LanguageModel, LanguageModelState};
pub use seq2seq::{
    Attention as Seq2SeqAttentionModule, Encoded, Seq2Seq, Seq2SeqAttention, Seq2SeqConfig,
    Seq2SeqOutput, sequence_cross_entropy,
};
pub use tagger::{MAX_TOKENS, Tagger, TaggerArchitecture, TaggerConfig, TransformerTokens};
pub use translator::Translator;
