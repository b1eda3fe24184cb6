//! A sequence tagger (part-of-speech, named entities, chunks — any CoNLL file): word
//! embeddings and character-CNN features of each token, a bidirectional LSTM (or GRU / RNN)
//! over the sentence, and a softmax over the tags at each token.
//!
//! - [`TaggerConfig`]: every setting of a run, with the [`FitConfig`] of the loop.
//! - [`TaggerData`]: the CoNLL files read, split by sentence when validation / test files
//!   are missing, the vocabularies of the training part ([`TaggerVocabs`]), and every part
//!   encoded.
//! - [`TaggerModel`]: the network; its weights as a PyTorch-named [`StateDict`].
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
mod model;
mod task;
mod vocabs;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use recurrent_cells::StateDict;
use recurrent_data::SplitFractions;
use serde::{Deserialize, Serialize};

pub use batch::{TaggerBatch, make_batch, masked_cross_entropy};
pub use data::{EncodedSentence, TaggerData, TaggerPart, encode};
pub use eval::{SentenceProbs, TagScores, argmax_tags, score, tag_probabilities};
pub use input::{
    InputFormat, InputSentence, TaggingInput, gold_tags, read_tagging_input, write_tagged,
};
pub use model::{TaggerDims, TaggerModel};
pub use task::TaggerTask;
pub use vocabs::{CHARS_FILE, TAGS_FILE, TaggerVocabs, WORDS_FILE};

use crate::cell_kind::CellKind;
use crate::early_stopping::Mode;
use crate::error::{Result, TrainError};
use crate::fit::{EarlyStoppingConfig, FitConfig, FitEvent, Fitted, fit};
use crate::optimizer::Clipping;
use crate::run_dir::RunDir;

/// The weights file of a tagger (in the run directory, or in each ensemble member's).
pub const MODEL_FILE: &str = "model.safetensors";

/// Every setting of a tagger run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaggerConfig {
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
    /// Word embedding size.
    pub word_embed: usize,
    /// Character embedding size.
    pub char_embed: usize,
    /// Character features per token (filters of the character CNN); 0 turns them off.
    pub char_features: usize,
    /// Width of the character CNN's filters (odd).
    pub char_kernel: usize,
    /// The most characters of a token the CNN sees (first and last halves of longer ones).
    pub max_word_chars: usize,
    /// The recurrent layer (bidirectional).
    pub cell: CellKind,
    /// Hidden size of each direction.
    pub hidden: usize,
    /// Stacked recurrent layers.
    pub layers: usize,
    /// Dropout on the token features, between recurrent layers and before the read-out.
    pub dropout: f64,
    /// Sentences per batch.
    pub batch_size: usize,
    /// Models trained with seeds `fit.seed + k`; their probabilities are averaged.
    pub ensemble: usize,
    /// The training loop.
    pub fit: FitConfig,
}

impl TaggerConfig {
    /// Defaults for `train`: split 80/10/10 after a seeded shuffle; words of at least 2
    /// occurrences, embeddings of 64; character embeddings of 24 and 50 CNN features of width
    /// 3 over at most 24 characters; one BiLSTM layer of 128 per direction; dropout 0.33;
    /// batches of 32; Adam 2e-3 with gradient norm clipped at 5, 20 epochs, early stopping
    /// on validation macro F1 (patience 4) with the best weights restored.
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
            word_embed: 64,
            char_embed: 24,
            char_features: 50,
            char_kernel: 3,
            max_word_chars: 24,
            cell: CellKind::Lstm,
            hidden: 128,
            layers: 1,
            dropout: 0.33,
            batch_size: 32,
            ensemble: 1,
            fit,
        }
    }

    /// The network sizes for `vocabs`.
    pub fn dims(&self, vocabs: &TaggerVocabs) -> TaggerDims {
        TaggerDims {
            words: vocabs.words.len(),
            chars: vocabs.chars.len(),
            tags: vocabs.n_tags(),
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
    config: &TaggerConfig,
    data: &TaggerData,
    seed: u64,
    device: &Device,
    checkpoints: Option<&RunDir>,
    resume: bool,
    observer: impl FnMut(FitEvent<'_>),
) -> Result<Fitted<TaggerModel>> {
    let mut fit_config = config.fit.clone();
    fit_config.seed = seed;
    device.seed(seed);
    let model = TaggerModel::new(config, config.dims(&data.vocabs), device)?;
    let task = TaggerTask::new(data, config.batch_size, device)?;
    fit(&fit_config, &task, model, checkpoints, resume, observer)
}

/// The scores of `models` (one, or the members of an ensemble) on `part`.
pub fn evaluate_part(
    models: &[TaggerModel],
    part: &TaggerPart,
    vocabs: &TaggerVocabs,
    batch_size: usize,
    device: &Device,
) -> Result<TagScores> {
    let probs = tag_probabilities(models, &part.encoded, vocabs.n_tags(), batch_size, device)?;
    score(&probs, part, vocabs)
}

/// Writes `model`'s weights as `dir/model.safetensors`.
pub fn save_model(model: &TaggerModel, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(MODEL_FILE);
    model
        .state_dict()
        .save(&path)
        .map_err(|e| TrainError::invalid("weights", format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// Reads the model `path` (a `model.safetensors`) for `config` and `vocabs`.
///
/// Errors: a missing or unreadable file, or weights that do not fit the settings (named).
pub fn load_model(
    path: &Path,
    config: &TaggerConfig,
    vocabs: &TaggerVocabs,
    device: &Device,
) -> Result<TaggerModel> {
    let dict = StateDict::load(path)
        .map_err(|e| TrainError::invalid("weights", format!("{}: {e}", path.display())))?;
    TaggerModel::from_state_dict(config, config.dims(vocabs), &dict, device)
        .map_err(|e| TrainError::invalid("weights", format!("{}: {e}", path.display())))
}

/// The tags `models` predict for `sentences` of tokens (an ensemble averages the members'
/// probabilities).
pub fn predict_tags(
    models: &[TaggerModel],
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
