//! The sequence-tagging task (part-of-speech, named entities, chunks — any CoNLL file): a
//! zoo [`Tagger`] (word embeddings and character-CNN features of each token, a
//! bidirectional recurrent encoder, a softmax over the tags at each token) trained on
//! bucketed batches of sentences.
//!
//! - [`TaggerTaskConfig`]: every setting of a run: the data, the zoo's [`TaggerConfig`]
//!   of the network, and the [`FitConfig`] of the loop.
//! - [`TaggerData`]: the CoNLL files read, split by sentence when validation / test files
//!   are missing, the vocabularies of the training part ([`TaggerVocabs`]), and every part
//!   encoded.
//! - The network is the zoo's [`Tagger`]; [`load_run`] reads a finished run back.
//! - [`train_tagger`]: one model trained through [`crate::fit::fit`] (masked cross-entropy
//!   over real tokens; validation loss, accuracy, macro F1 and entity F1 for BIO tags; early
//!   stopping on validation macro F1 with the best epoch's weights restored).
//! - [`tag_probabilities`] / [`score`]: predictions of one model or an ensemble (mean of the
//!   members' probabilities) and their token accuracy, macro F1 and entity F1.
//! - [`read_tagging_input`] / [`write_tagged`]: files to tag and the tagged output.
//!
//! Unseen words still get features from their characters (capitalisation, suffixes, digits);
//! with `min_word_freq` above 1, rare training words are `<unk>` during training, so the
//! network learns what to do with `<unk>`.

mod batch;
mod data;
mod eval;
mod input;
mod task;
mod vocabs;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use recurrent_data::SplitFractions;
use recurrent_zoo::models::{Tagger, TaggerConfig};
use serde::{Deserialize, Serialize};

pub use batch::{TaggerBatch, make_batch, masked_cross_entropy};
pub use data::{EncodedSentence, TaggerData, TaggerPart, encode};
pub use eval::{SentenceProbs, TagScores, argmax_tags, score, tag_probabilities};
pub use input::{
    InputFormat, InputSentence, TaggingInput, gold_tags, read_tagging_input, write_tagged,
};
pub use task::TaggerTask;
pub use vocabs::{CHARS_FILE, TAGS_FILE, TaggerVocabs, WORDS_FILE};

use crate::early_stopping::Mode;
use crate::error::{Result, TrainError};
use crate::fit::{EarlyStoppingConfig, FitConfig, FitEvent, Fitted, fit};
use crate::optimizer::Clipping;
use crate::run_config::{CONFIG_FILE, SavedRun};
use crate::run_dir::RunDir;
use crate::weights::load_weights;

/// The weights file of a tagger (in the run directory, or in each ensemble member's).
pub const MODEL_FILE: &str = "model.safetensors";

/// Every setting of a tagger run: the data, the network (a zoo [`TaggerConfig`], whose
/// vocabulary sizes are set from the data), and the training loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaggerTaskConfig {
    /// The training CoNLL file.
    pub train: PathBuf,
    /// The validation file; without it, a part of `train` is split off.
    pub valid: Option<PathBuf>,
    /// The test file; without it, a part of `train` is split off.
    pub test: Option<PathBuf>,
    /// 0-based column of the tag; `None` for the last column.
    pub tag_column: Option<usize>,
    /// Train / validation / test fractions of `train` when files are missing (by sentence).
    pub split: SplitFractions,
    /// Shuffle the sentences (seeded with `fit.seed`) before splitting; otherwise the
    /// parts follow file order.
    pub shuffle_split: bool,
    /// Look words up lower-cased (characters keep their case).
    pub lowercase: bool,
    /// Words seen fewer times in training are `<unk>`.
    pub min_word_freq: usize,
    /// The most characters of a token the CNN sees (first and last halves of longer ones).
    pub max_word_chars: usize,
    /// The network: architecture, embeddings, character CNN, cell, sizes, merge mode,
    /// dropout (the vocabulary sizes come from the data).
    pub model: TaggerConfig,
    /// Sentences per batch.
    pub batch_size: usize,
    /// Models trained with seeds `fit.seed + k`; their probabilities are averaged.
    pub ensemble: usize,
    /// The training loop.
    pub fit: FitConfig,
}

impl TaggerTaskConfig {
    /// Defaults for `train`: split 80/10/10 after a seeded shuffle; words of at least 2
    /// occurrences, embeddings of 64; character embeddings of 24 and 50 CNN features of width
    /// 3 over at most 24 characters; one BiLSTM layer of 128 per direction, outputs
    /// concatenated; dropout 0.33; batches of 32; Adam 2e-3 with gradient norm clipped at 5,
    /// 20 epochs, early stopping on validation macro F1 (patience 4) with the best weights
    /// restored.
    pub fn new(train: impl Into<PathBuf>) -> Self {
        let mut fit = FitConfig::new(20, 2e-3);
        fit.clipping = Some(Clipping::Norm(5.0));
        fit.early_stopping = Some(EarlyStoppingConfig {
            monitor: "macro_f1".into(),
            patience: 4,
            min_delta: 0.0,
            mode: Mode::Max,
        });
        Self {
            train: train.into(),
            valid: None,
            test: None,
            tag_column: None,
            split: SplitFractions::default(),
            shuffle_split: true,
            lowercase: false,
            min_word_freq: 2,
            max_word_chars: 24,
            // The vocabulary sizes are set from the data (`model_config`).
            model: TaggerConfig::new(0, 0, 0),
            batch_size: 32,
            ensemble: 1,
            fit,
        }
    }

    /// The network for `vocabs`: [`TaggerTaskConfig::model`] with its vocabulary sizes.
    pub fn model_config(&self, vocabs: &TaggerVocabs) -> TaggerConfig {
        TaggerConfig {
            n_words: vocabs.words.len(),
            n_chars: vocabs.chars.len(),
            n_tags: vocabs.n_tags(),
            ..self.model.clone()
        }
    }
}

/// Trains one tagger on `data` with the settings of `config` and the weight / shuffle seed
/// `seed` (an ensemble member uses `config.fit.seed + k`), on `device` (an autodiff device).
/// `checkpoints`, `resume` and `observer` as in [`fit`].
///
/// The returned model is the best validation epoch's when early stopping is set (and
/// `fit.restore_best`), else the last.
pub fn train_tagger(
    config: &TaggerTaskConfig,
    data: &TaggerData,
    seed: u64,
    device: &Device,
    checkpoints: Option<&RunDir>,
    resume: bool,
    observer: impl FnMut(FitEvent<'_>),
) -> Result<Fitted<Tagger>> {
    let mut fit_config = config.fit.clone();
    fit_config.seed = seed;
    device.seed(seed);
    let model = config.model_config(&data.vocabs).try_init(device)?;
    let task = TaggerTask::new(data, config.batch_size, device)?;
    fit(&fit_config, &task, model, checkpoints, resume, observer)
}

/// The scores of `models` (one, or the members of an ensemble) on `part`.
pub fn evaluate_part(
    models: &[Tagger],
    part: &TaggerPart,
    vocabs: &TaggerVocabs,
    batch_size: usize,
    device: &Device,
) -> Result<TagScores> {
    let probs = tag_probabilities(models, &part.encoded, vocabs.n_tags(), batch_size, device)?;
    score(&probs, part, vocabs)
}

/// A finished tagger run read back: its settings, vocabularies and models (every member
/// of an ensemble).
#[derive(Debug)]
pub struct TaggerRunFiles {
    /// The run's settings.
    pub config: TaggerTaskConfig,
    /// The vocabularies of its training data.
    pub vocabs: TaggerVocabs,
    /// The model, or the ensemble's members.
    pub models: Vec<Tagger>,
}

/// Reads the tagger run in `dir` (`config.toml`, the vocabularies, `model.safetensors` or
/// every member's) onto `device`.
///
/// Errors name the file: missing, unreadable, not a tagger run, or weights that do not fit.
pub fn load_run(dir: &Path, device: &Device) -> Result<TaggerRunFiles> {
    let config: TaggerTaskConfig = SavedRun::read(&dir.join(CONFIG_FILE))?.settings_of("tagger")?;
    let vocabs = TaggerVocabs::load(dir, config.lowercase, config.max_word_chars)?;
    let model = config.model_config(&vocabs);
    let models = RunDir::open(dir)?
        .model_files(config.ensemble, MODEL_FILE)
        .iter()
        .map(|path| load_weights(model.try_init(device)?, path))
        .collect::<Result<Vec<_>>>()?;
    Ok(TaggerRunFiles {
        config,
        vocabs,
        models,
    })
}

/// The tags `models` predict for `sentences` of tokens (an ensemble averages the members'
/// probabilities).
pub fn predict_tags(
    models: &[Tagger],
    vocabs: &TaggerVocabs,
    sentences: &[Vec<String>],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<Vec<String>>> {
    let encoded: Vec<EncodedSentence> = sentences
        .iter()
        .map(|tokens| EncodedSentence {
            words: tokens.iter().map(|t| vocabs.word_id(t)).collect(),
            chars: tokens.iter().map(|t| vocabs.char_ids(t)).collect(),
            tags: vec![0; tokens.len()],
        })
        .collect();
    if let Some(i) = encoded.iter().position(EncodedSentence::is_empty) {
        return Err(TrainError::invalid(
            "sentence",
            format!("sentence {} has no tokens", i + 1),
        ));
    }
    let n_tags = vocabs.n_tags();
    let probs = tag_probabilities(models, &encoded, n_tags, batch_size, device)?;
    Ok(probs
        .iter()
        .map(|p| {
            argmax_tags(p, n_tags)
                .into_iter()
                .map(|id| vocabs.tags.tag(id).unwrap_or_default().to_owned())
                .collect()
        })
        .collect())
}
