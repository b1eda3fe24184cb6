//! The sequence-model zoo: every network of the workspace, built on the recurrent layers of
//! [`recurrent_cells`] and burn's `nn` modules, each with a `XxxConfig` → `Xxx` pair
//! (`init(&device)`, `forward`) and weights under PyTorch's names ([`PytorchWeights`]).
//!
//! # Recurrent layers
//! - [`Recurrent`] / [`RecurrentConfig`]: any layer (`rnn | lstm | gru | ln-lstm`,
//!   [`RecurrentKind`]) with `n_layers`, PyTorch's `bidirectional`, dropout, recurrent
//!   dropout, lengths; one state type [`RecurrentState`] for `h` and `(h, c)`.
//! - [`Bidirectional`]: Keras' wrapper with merge modes `concat | sum | mul | ave | none`
//!   ([`MergeMode`]).
//! - [`RecurrentStack`]: stacked layers of their own widths, bidirectional, residual
//!   (`x + f(x)`), LayerNorm and dropout between layers.
//! - The layer-normalised LSTM and recurrent (variational) dropout live in the cells:
//!   [`recurrent_cells::LnLstm`], [`RecurrentConfig::recurrent_dropout`].
//!
//! # Attention
//! - [`attention::AdditiveAttention`] (Bahdanau), [`attention::DotAttention`] (Luong `dot |
//!   general | scaled`), with padding masks from lengths ([`attention::AttentionInput`]).
//! - [`attention::AttentionPooling`]: a sequence into one vector, for classification.
//! - [`attention::SelfAttentionBlock`], [`attention::RecurrentSelfAttention`]: multi-head
//!   self-attention (burn's) after a recurrent layer.
//!
//! # Convolutional hybrids
//! - [`conv::ConvFrontEnd`]: `Conv1d` (centred or causal) + ReLU + max pooling over steps.
//! - [`conv::CnnRecurrent`]: the front end feeding a recurrent layer.
//! - [`conv::CharCnn`]: character features of each token.
//!
//! # Heads
//! [`heads::ClassificationHead`] (binary or multi-class), [`heads::TaggingHead`] (per
//! step), [`heads::ForecastHead`] (direct multi-horizon), [`heads::LanguageModelHead`].
//!
//! # Task models
//! - [`models::CharLm`]: a language model (embedding, recurrent stack, head), decoded by
//!   [`decode::generate`] (greedy, sampling, beam search).
//! - [`models::Tagger`]: word + character features, bidirectional encoder (`bilstm`,
//!   `bilstm-attention`, `cnn-bilstm`), per-token tags.
//! - [`models::Forecaster`]: direct or autoregressive forecasts (`recurrent`,
//!   `cnn-recurrent`, `recurrent-attention`).
//! - [`models::SequenceClassifier`]: the Keras tutorial's model generalised (pooling `last |
//!   mean | attention`).
//! - [`models::Seq2Seq`]: an encoder-decoder with Bahdanau or Luong attention over the
//!   encoder's outputs (masked by source lengths), trained with teacher forcing or
//!   scheduled sampling ([`models::sequence_cross_entropy`]), decoded in batches by
//!   [`search::decode_batch`] (greedy, sampling with temperature, top-k and top-p, beam
//!   search with an end token and length normalisation).
//!
//! # Transformer
//! [`transformer`]: encoder layers on burn's modules under PyTorch's names
//! ([`transformer::TransformerLayers`], pre- or post-norm, ReLU or GELU), sinusoidal or
//! learned positions, a decoder-only language model with a reorderable key/value cache
//! ([`transformer::TransformerLm`], [`transformer::KvCache`]), an encoder classifier, the
//! tagger's `transformer` architecture, and an encoder-decoder
//! ([`transformer::TransformerSeq2Seq`]).
//!
//! The crate picks no backend: models run on whatever device they are built on, and train
//! on an autodiff device. Errors are [`ZooError`]s.
//!
//! ```rust
//! use burn::tensor::{Device, Int, Tensor};
//! use recurrent_zoo::models::CharLmConfig;
//! use recurrent_zoo::{PytorchWeights, RecurrentKind};
//!
//! let device = Device::flex();
//! let model = CharLmConfig::new(65).with_kind(RecurrentKind::Gru).init(&device);
//! let ids = Tensor::<2, Int>::zeros([2, 10], &device); // [batch, seq]
//! let (logits, _state) = model.forward(ids, None);
//! assert_eq!(logits.dims(), [2, 10, 65]);
//! assert!(model.state_dict("").get("rnn.layers.0.weight_hh_l0").is_some());
//! ```
#![deny(missing_docs)]

pub mod attention;
mod bidirectional;
pub mod conv;
pub mod decode;
mod error;
pub mod heads;
pub mod models;
mod recurrent;
pub mod search;
mod stack;
pub mod transformer;
pub mod weights;

pub use bidirectional::{Bidirectional, BidirectionalConfig, BidirectionalOutput, MergeMode};
pub use error::{Result, ZooError};
pub use recurrent::{Recurrent, RecurrentConfig, RecurrentKind, RecurrentState};
pub use stack::{RecurrentStack, RecurrentStackConfig, StackLayer, StackState};
pub use weights::{Export, PytorchWeights};
