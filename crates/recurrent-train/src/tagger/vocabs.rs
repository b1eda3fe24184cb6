//! The three vocabularies of a tagger — words, characters and tags — fitted on the training
//! sentences only, and how a sentence becomes ids.

use std::path::Path;

use recurrent_data::{Sentence, SequenceItem, SpecialTokens, TagVocab, Vocab, VocabBuilder};

use crate::error::{Result, TrainError};

/// The file of the word vocabulary in a run directory.
pub const WORDS_FILE: &str = "words.json";
/// The file of the character vocabulary in a run directory.
pub const CHARS_FILE: &str = "chars.json";
/// The file of the tag vocabulary in a run directory.
pub const TAGS_FILE: &str = "tags.json";

/// `<pad>` (id 0) and `<unk>` (id 1), no sentence bounds.
fn specials() -> SpecialTokens {
    SpecialTokens {
        pad: Some("<pad>".into()),
        unk: Some("<unk>".into()),
        bos: None,
        eos: None,
    }
}

/// Words, characters and tags of a tagger, with the two settings that change how a token is
/// looked up.
///
/// - Words are looked up after lower-casing when `lowercase` is set; words seen fewer than
///   `min_word_freq` times in training are not in the vocabulary, so training sees `<unk>`
///   for them as prediction does for unseen words.
/// - Characters are always those of the token as written (capitals included), so the
///   character features see a word's shape even when the word is `<unk>`. A token longer
///   than `max_word_chars` keeps its first and last characters (half of the budget each):
///   prefixes and suffixes carry the shape.
/// - Tags follow [`TagVocab`] (alphabetical ids).
#[derive(Debug, Clone, PartialEq)]
pub struct TaggerVocabs {
    /// Word ids: `<pad>` 0, `<unk>` 1, then words by frequency.
    pub words: Vocab,
    /// Character ids: `<pad>` 0, `<unk>` 1, then characters by frequency.
    pub chars: Vocab,
    /// Tag ids (the output classes).
    pub tags: TagVocab,
    /// Whether words are lower-cased before lookup.
    pub lowercase: bool,
    /// The most characters of a token that the character features see.
    pub max_word_chars: usize,
}

impl TaggerVocabs {
    /// The vocabularies of `train` (the training sentences only).
    ///
    /// Errors: [`TrainError::Invalid`] when `train` is empty or `max_word_chars` is 0.
    pub fn fit(
        train: &[Sentence],
        lowercase: bool,
        min_word_freq: usize,
        max_word_chars: usize,
    ) -> Result<Self> {
        if train.is_empty() {
            return Err(TrainError::invalid("tagger data", "no training sentences"));
        }
        if max_word_chars == 0 {
            return Err(TrainError::invalid(
                "max_word_chars",
                "0 (must be at least 1)",
            ));
        }
        let mut words = VocabBuilder::new()
            .specials(specials())
            .min_freq(min_word_freq);
        let mut chars = VocabBuilder::new().specials(specials());
        for sentence in train {
            for token in &sentence.tokens {
                words.add(&word_key(token, lowercase));
                let mut buf = [0u8; 4];
                for c in token.chars() {
                    chars.add(c.encode_utf8(&mut buf));
                }
            }
        }
        Ok(Self {
            words: words.build()?,
            chars: chars.build()?,
            tags: TagVocab::from_sentences(train),
            lowercase,
            max_word_chars,
        })
    }

    /// The number of tags (output classes).
    pub fn n_tags(&self) -> usize {
        self.tags.len()
    }

    /// The word id of `token` (`<unk>` when unseen).
    pub fn word_id(&self, token: &str) -> u32 {
        let unk = self.words.unk_id().unwrap_or(1);
        self.words
            .id(&word_key(token, self.lowercase))
            .unwrap_or(unk)
    }

    /// The character ids of `token` (`<unk>` for unseen characters), at most
    /// `max_word_chars` of them: the first half and the last half of a longer token.
    pub fn char_ids(&self, token: &str) -> Vec<u32> {
        let unk = self.chars.unk_id().unwrap_or(1);
        let mut buf = [0u8; 4];
        let all: Vec<u32> = token
            .chars()
            .map(|c| self.chars.id(c.encode_utf8(&mut buf)).unwrap_or(unk))
            .collect();
        let max = self.max_word_chars.max(1);
        if all.len() <= max {
            return all;
        }
        let head = max.div_ceil(2);
        let tail = max - head;
        let mut kept = all[..head].to_vec();
        kept.extend_from_slice(&all[all.len() - tail..]);
        kept
    }

    /// The model input of `tokens`: word ids and the character ids of each token, with
    /// `tags` as step labels when given (`[len]`, as long as `tokens`).
    ///
    /// Errors: [`TrainError::Invalid`] for an empty sentence or tags of another length.
    pub fn item(&self, tokens: &[String], tags: Option<&[u32]>) -> Result<SequenceItem> {
        if tokens.is_empty() {
            return Err(TrainError::invalid("sentence", "no tokens"));
        }
        let words = tokens.iter().map(|t| self.word_id(t)).collect();
        let chars = tokens.iter().map(|t| self.char_ids(t)).collect();
        let item = match tags {
            Some(tags) => SequenceItem::with_steps(words, tags.to_vec())?,
            None => SequenceItem::new(words),
        };
        Ok(item.with_subtokens(chars)?)
    }

    /// Writes `words.json`, `chars.json` and `tags.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.words.save(&dir.join(WORDS_FILE))?;
        self.chars.save(&dir.join(CHARS_FILE))?;
        self.tags.save(&dir.join(TAGS_FILE))?;
        Ok(())
    }

    /// Reads the vocabularies [`TaggerVocabs::save`] wrote into `dir`, with the lookup
    /// settings of the run.
    ///
    /// Errors: a missing or malformed file (named), or a word or character vocabulary
    /// without `<pad>` and `<unk>`.
    pub fn load(dir: &Path, lowercase: bool, max_word_chars: usize) -> Result<Self> {
        let words = Vocab::load(&dir.join(WORDS_FILE))?;
        let chars = Vocab::load(&dir.join(CHARS_FILE))?;
        for (file, vocab) in [(WORDS_FILE, &words), (CHARS_FILE, &chars)] {
            if vocab.pad_id().is_none() || vocab.unk_id().is_none() {
                return Err(TrainError::invalid(
                    "tagger vocabulary",
                    format!(
                        "{}: needs the <pad> and <unk> tokens",
                        dir.join(file).display()
                    ),
                ));
            }
        }
        let tags = TagVocab::load(&dir.join(TAGS_FILE))?;
        if tags.is_empty() {
            return Err(TrainError::invalid(
                "tagger vocabulary",
                format!("{}: no tags", dir.join(TAGS_FILE).display()),
            ));
        }
        Ok(Self {
            words,
            chars,
            tags,
            lowercase,
            max_word_chars,
        })
    }
}

/// The form of `token` the word vocabulary holds.
fn word_key(token: &str, lowercase: bool) -> String {
    if lowercase {
        token.to_lowercase()
    } else {
        token.to_owned()
    }
}
