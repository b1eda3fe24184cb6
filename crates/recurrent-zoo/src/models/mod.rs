//! The task models: each a `XxxConfig` (the network only: no data paths, no training
//! settings) and a `Xxx` module with `init(&device)`, `forward` and PyTorch-named weights.

mod char_lm;
mod classifier;
mod forecaster;
mod tagger;

pub use char_lm::{CharLm, CharLmConfig};
pub use classifier::{Pooling, SequenceClassifier, SequenceClassifierConfig};
pub use forecaster::{ForecastArchitecture, Forecaster, ForecasterConfig};
pub use tagger::{Tagger, TaggerArchitecture, TaggerConfig};
