//! Data pipelines for recurrent models: everything between a file on disk and a batch of
//! tensors the layers of `recurrent-cells` take, with lengths and masks.
//!
//! - Sequences: [`pad_sequences`] (Keras' options), masks, a [`SequenceBatcher`] for burn's
//!   `DataLoader` that pads per batch and reports its padding, bucketing by length
//!   ([`BucketedDataset`]), length capping and bptt windows.
//! - Text: character and word tokenizers over a [`Vocab`] built from the training text
//!   only, saved as JSON; a language-model dataset split by position.
//! - Time series: CSV with named columns and dates, an explicit missing-value policy,
//!   sliding windows that never cross a split, scalers fitted on the training split.
//! - Sequence labelling: CoNLL reader and writer, tag vocabulary, and per-step labelled
//!   windows of a time series.
//! - [`inspect`]: what a file holds, before training on it.
//!
//! Errors are [`DataError`]s naming the file, line and column at fault; user data never
//! makes this crate panic.

pub mod batcher;
pub mod bucket;
pub mod conll;
pub mod error;
pub mod inspect;
pub mod io;
pub mod lm;
pub mod pad;
pub mod pairs;
pub mod series;
pub mod split;
pub mod tags;
pub mod tokenizer;
pub mod vocab;

pub use batcher::{PaddingStats, SequenceBatch, SequenceBatcher, SequenceItem, SequenceTarget};
pub use bucket::{BucketedDataset, bucket_order};
pub use conll::{ConllOptions, Sentence, parse_conll, read_conll, split_sentences, write_conll};
pub use error::{DataError, Location, Result};
pub use lm::{LanguageModelDataset, LmWindows, split_text};
pub use pad::{PadOptions, Padded, Padding, Truncating, cap_length, pad_sequences, pad_steps};
pub use series::{
    Boundary, ForecastData, MissingPolicy, Scaler, ScalerConfig, SeriesOptions, SplitSpec,
    TimeSeries, WindowConfig, load_series, load_step_labels,
};
pub use split::{Split, SplitFractions, tail_ranges};
pub use tags::{TagVocab, UnknownTag, bio_spans};
pub use tokenizer::{Tokenizer, TokenizerKind};
pub use vocab::{SpecialTokens, Vocab, VocabBuilder};
