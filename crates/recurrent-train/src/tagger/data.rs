//! The sentences of a tagger run: read from CoNLL files (train, and validation / test when
//! given, else split off the training file by sentence), the vocabularies fitted on the
//! training part, and every part encoded once.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use recurrent_data::{ConllOptions, Sentence, SplitFractions, read_conll, split_sentences};

use super::TaggerTaskConfig;
use super::vocabs::TaggerVocabs;
use crate::error::{Result, TrainError};

/// One sentence as ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedSentence {
    /// Word ids, `[len]`.
    pub words: Vec<u32>,
    /// Character ids of each token, `[len][chars]`.
    pub chars: Vec<Vec<u32>>,
    /// Tag ids, `[len]`; a tag the training data never showed is `n_tags` (no class of the
    /// model: such a token always counts as an error, and the loss leaves it out).
    pub tags: Vec<u32>,
}

impl EncodedSentence {
    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there is no token.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// One part of the data (train, validation or test).
#[derive(Debug, Clone)]
pub struct TaggerPart {
    /// Where the sentences came from, for messages: the file, or `FILE (split)`.
    pub source: String,
    /// The sentences as read.
    pub sentences: Vec<Sentence>,
    /// The same sentences as ids.
    pub encoded: Vec<EncodedSentence>,
    /// Tokens whose tag is not in the tag vocabulary (never in the training part).
    pub unseen_tags: usize,
}

impl TaggerPart {
    /// The number of tokens.
    pub fn tokens(&self) -> usize {
        self.sentences.iter().map(Sentence::len).sum()
    }
}

/// Everything a tagger run trains and evaluates on.
#[derive(Debug, Clone)]
pub struct TaggerData {
    /// The vocabularies of the training part.
    pub vocabs: TaggerVocabs,
    /// The training part.
    pub train: TaggerPart,
    /// The validation part (early stopping, best epoch).
    pub valid: TaggerPart,
    /// The test part (the reported scores).
    pub test: TaggerPart,
}

impl TaggerData {
    /// Reads the files of `config` and prepares the run's data.
    ///
    /// `config.train` always trains. Missing validation / test files are split off the
    /// training file by sentence with `config.split` (train 0.8, valid 0.1, test 0.1 by
    /// default; with one of the two files given, its fraction goes to training), after a
    /// shuffle seeded with `config.fit.seed` when `config.shuffle_split` is set, and in file
    /// order otherwise ([`split_sentences`]).
    ///
    /// Errors: a missing or malformed file (`FILE:LINE: what is wrong`, from
    /// `recurrent-data`), a tag column missing from a file, or a file too small to split.
    pub fn load(config: &TaggerTaskConfig) -> Result<Self> {
        let options = ConllOptions {
            tag_column: config.tag_column,
            ..ConllOptions::default()
        };
        let read = |path: &Path| read_conll(path, &options);
        let all = read(&config.train)?;
        let train_name = config.train.display().to_string();
        let valid = config.valid.as_deref().map(read).transpose()?;
        let test = config.test.as_deref().map(read).transpose()?;
        let needs_split = valid.is_none() || test.is_none();
        let mut all = all;
        if needs_split && config.shuffle_split {
            all.shuffle(&mut StdRng::seed_from_u64(config.fit.seed));
        }
        let fractions = match (&valid, &test) {
            (Some(_), Some(_)) => None,
            (None, None) => Some(config.split),
            (Some(_), None) => Some(renormalise(config.split.train, 0.0, config.split.test)),
            (None, Some(_)) => Some(renormalise(config.split.train, config.split.valid, 0.0)),
        };
        let (train, split_valid, split_test) = match fractions {
            None => (all, Vec::new(), Vec::new()),
            Some(fractions) => {
                let total = all.len();
                let [train, valid, test] = split_sentences(all, &fractions)?;
                if train.is_empty()
                    || (config.valid.is_none() && valid.is_empty())
                    || (config.test.is_none() && test.is_empty())
                {
                    return Err(TrainError::invalid(
                        "tagger data",
                        format!(
                            "{train_name}: {total} sentence(s) are too few to split into \
                             training ({}), validation ({}) and test ({}) parts; give more \
                             sentences or separate --valid and --test files",
                            fractions.train, fractions.valid, fractions.test
                        ),
                    ));
                }
                (train, valid, test)
            }
        };
        let part_source = |given: &Option<PathBuf>, what: &str| match given {
            Some(path) => path.display().to_string(),
            None => format!("{train_name} ({what} split)"),
        };
        let valid_source = part_source(&config.valid, "validation");
        let test_source = part_source(&config.test, "test");
        let train_source = if needs_split {
            format!("{train_name} (training split)")
        } else {
            train_name.clone()
        };
        Self::from_parts(
            config,
            (train_source, train),
            (valid_source, valid.unwrap_or(split_valid)),
            (test_source, test.unwrap_or(split_test)),
        )
    }

    /// Prepares the data from sentences already split (each part with a name for
    /// messages): fits the vocabularies on the training part and encodes every part.
    ///
    /// Errors: an empty part, or settings the vocabularies refuse.
    pub fn from_parts(
        config: &TaggerTaskConfig,
        train: (String, Vec<Sentence>),
        valid: (String, Vec<Sentence>),
        test: (String, Vec<Sentence>),
    ) -> Result<Self> {
        for (name, sentences) in [&train, &valid, &test] {
            if sentences.is_empty() {
                return Err(TrainError::invalid(
                    "tagger data",
                    format!("{name}: no sentences"),
                ));
            }
        }
        let vocabs = TaggerVocabs::fit(
            &train.1,
            config.lowercase,
            config.min_word_freq,
            config.max_word_chars,
        )?;
        let part = |(source, sentences): (String, Vec<Sentence>)| {
            let (encoded, unseen_tags) = encode(&vocabs, &sentences);
            if unseen_tags > 0 {
                tracing::warn!(
                    "{source}: {unseen_tags} token(s) carry tags the training part never \
                     shows; they count as errors"
                );
            }
            TaggerPart {
                source,
                sentences,
                encoded,
                unseen_tags,
            }
        };
        let train = part(train);
        let valid = part(valid);
        let test = part(test);
        Ok(Self {
            vocabs,
            train,
            valid,
            test,
        })
    }
}

/// Fractions with one part set to 0 and the others scaled to add up to 1.
fn renormalise(train: f64, valid: f64, test: f64) -> SplitFractions {
    let sum = train + valid + test;
    if sum > 0.0 {
        SplitFractions::new(train / sum, valid / sum, test / sum)
    } else {
        SplitFractions::new(train, valid, test)
    }
}

/// The ids of `sentences`, and how many tokens carry a tag outside the vocabulary.
pub fn encode(vocabs: &TaggerVocabs, sentences: &[Sentence]) -> (Vec<EncodedSentence>, usize) {
    let unseen = u32::try_from(vocabs.n_tags()).unwrap_or(u32::MAX);
    let mut count = 0;
    let encoded = sentences
        .iter()
        .map(|sentence| EncodedSentence {
            words: sentence.tokens.iter().map(|t| vocabs.word_id(t)).collect(),
            chars: sentence.tokens.iter().map(|t| vocabs.char_ids(t)).collect(),
            tags: sentence
                .tags
                .iter()
                .map(|tag| {
                    vocabs.tags.id(tag).unwrap_or_else(|| {
                        count += 1;
                        unseen
                    })
                })
                .collect(),
        })
        .collect();
    (encoded, count)
}
