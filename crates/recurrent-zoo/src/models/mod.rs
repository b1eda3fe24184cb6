//! The task models: each a `XxxConfig` (the network only: no data paths, no training
//! settings) and a `Xxx` module with `init(&device)`, `forward` and PyTorch-named weights.

mod char_lm;
mod classifier;
mod forecaster;
mod seq2seq;
mod tagger;

pub use char_lm::{CharLm, CharLmConfig};
pub use classifier::{Pooling, SequenceClassifier, SequenceClassifierConfig};
pub use forecaster::{ForecastArchitecture, Forecaster, ForecasterConfig};
pub use seq2seq::{
    Attention as Seq2SeqAttentionModule, Encoded, Seq2Seq, Seq2SeqAttention, Seq2SeqConfig,
    Seq2SeqOutput, sequence_cross_entropy,
};
pub use tagger::{Tagger, TaggerArchitecture, TaggerConfig};
