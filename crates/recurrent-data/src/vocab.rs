//! A token vocabulary built from training data only: special tokens first, then tokens by
//! frequency, with a minimum frequency and a maximum size; saved as JSON beside a model.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// The special tokens of a vocabulary; each may be left out. When present they take the
/// first ids in the order pad, unk, bos, eos (so `<pad>` is 0, as embeddings expect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialTokens {
    /// Padding, `<pad>`.
    pub pad: Option<String>,
    /// Unknown (out-of-vocabulary) token, `<unk>`.
    pub unk: Option<String>,
    /// Beginning of sequence, `<bos>`.
    pub bos: Option<String>,
    /// End of sequence, `<eos>`.
    pub eos: Option<String>,
}

impl Default for SpecialTokens {
    /// `<pad>`, `<unk>`, `<bos>`, `<eos>`.
    fn default() -> Self {
        Self {
            pad: Some("<pad>".into()),
            unk: Some("<unk>".into()),
            bos: Some("<bos>".into()),
            eos: Some("<eos>".into()),
        }
    }
}

impl SpecialTokens {
    /// No special tokens at all.
    pub fn none() -> Self {
        Self {
            pad: None,
            unk: None,
            bos: None,
            eos: None,
        }
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        [&self.pad, &self.unk, &self.bos, &self.eos]
            .into_iter()
            .filter_map(|t| t.as_deref())
    }
}

/// Builds a [`Vocab`] from token counts. Count only the training split.
#[derive(Debug, Clone)]
pub struct VocabBuilder {
    counts: HashMap<String, usize>,
    min_freq: usize,
    max_size: Option<usize>,
    specials: SpecialTokens,
}

impl Default for VocabBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl VocabBuilder {
    /// Every token seen at least once, with the default special tokens.
    pub fn new() -> Self {
        Self {
            counts: HashMap::new(),
            min_freq: 1,
            max_size: None,
            specials: SpecialTokens::default(),
        }
    }

    /// Keeps only tokens seen at least `min_freq` times (the rest become `<unk>`).
    pub fn min_freq(mut self, min_freq: usize) -> Self {
        self.min_freq = min_freq.max(1);
        self
    }

    /// Keeps at most `max_size` entries in all, special tokens included (the most frequent
    /// tokens win; ties go to the token that sorts first).
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = Some(max_size);
        self
    }

    /// Sets the special tokens.
    pub fn specials(mut self, specials: SpecialTokens) -> Self {
        self.specials = specials;
        self
    }

    /// Counts one occurrence of `token`.
    pub fn add(&mut self, token: &str) {
        if let Some(n) = self.counts.get_mut(token) {
            *n += 1;
        } else {
            self.counts.insert(token.to_owned(), 1);
        }
    }

    /// Counts every token of `tokens`.
    pub fn extend<'a>(&mut self, tokens: impl IntoIterator<Item = &'a str>) {
        for token in tokens {
            self.add(token);
        }
    }

    /// The vocabulary: special tokens, then tokens by decreasing count (ties by token).
    ///
    /// Fails when `max_size` cannot even hold the special tokens.
    pub fn build(self) -> Result<Vocab> {
        let specials: Vec<String> = self.specials.iter().map(str::to_owned).collect();
        if let Some(max) = self.max_size
            && max < specials.len()
        {
            return Err(DataError::invalid(
                "max_size",
                format!("{max} cannot hold the {} special tokens", specials.len()),
            ));
        }
        let mut counted: Vec<(String, usize)> = self
            .counts
            .into_iter()
            .filter(|(t, n)| *n >= self.min_freq && !specials.contains(t))
            .collect();
        counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let room = self.max_size.map_or(usize::MAX, |max| max - specials.len());
        let mut tokens = specials;
        tokens.extend(counted.into_iter().take(room).map(|(t, _)| t));
        Vocab::from_parts(tokens, self.specials)
    }
}

/// Token ↔ id mapping. Unknown tokens map to `<unk>` when the vocabulary has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "VocabFile", into = "VocabFile")]
pub struct Vocab {
    tokens: Vec<String>,
    specials: SpecialTokens,
    index: HashMap<String, u32>,
}

#[derive(Serialize, Deserialize)]
struct VocabFile {
    specials: SpecialTokens,
    tokens: Vec<String>,
}

impl TryFrom<VocabFile> for Vocab {
    type Error = DataError;
    fn try_from(file: VocabFile) -> Result<Self> {
        Vocab::from_parts(file.tokens, file.specials)
    }
}

impl From<Vocab> for VocabFile {
    fn from(vocab: Vocab) -> Self {
        Self {
            specials: vocab.specials,
            tokens: vocab.tokens,
        }
    }
}

impl Vocab {
    /// A vocabulary with exactly these tokens, ids in order. Every special token must be
    /// among them; duplicates are an error naming the token.
    pub fn from_parts(tokens: Vec<String>, specials: SpecialTokens) -> Result<Self> {
        if tokens.len() > u32::MAX as usize {
            return Err(DataError::invalid(
                "vocabulary",
                format!("{} tokens", tokens.len()),
            ));
        }
        let mut index = HashMap::with_capacity(tokens.len());
        for (id, token) in tokens.iter().enumerate() {
            if index.insert(token.clone(), id as u32).is_some() {
                return Err(DataError::invalid(
                    "vocabulary",
                    format!("token {token:?} appears twice"),
                ));
            }
        }
        for special in specials.iter() {
            if !index.contains_key(special) {
                return Err(DataError::invalid(
                    "vocabulary",
                    format!("special token {special:?} is not among the tokens"),
                ));
            }
        }
        Ok(Self {
            tokens,
            specials,
            index,
        })
    }

    /// Number of entries, special tokens included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The tokens in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The special tokens.
    pub fn specials(&self) -> &SpecialTokens {
        &self.specials
    }

    /// The id of `token`, if it is in the vocabulary.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    /// The id of `token`, or of `<unk>`; an error naming the token when the vocabulary has
    /// no `<unk>`.
    pub fn id_or_unk(&self, token: &str) -> Result<u32> {
        self.id(token).or(self.unk_id()).ok_or_else(|| {
            DataError::invalid(
                "token",
                format!("{token:?} is not in the vocabulary, which has no <unk> token"),
            )
        })
    }

    /// The characters of `text` that are not tokens of this vocabulary (a special token's
    /// text does not count), each with its 0-based position in characters: what a
    /// character-level model cannot read without `<unk>`.
    pub fn unknown_chars(&self, text: &str) -> Vec<(usize, char)> {
        let mut buffer = [0u8; 4];
        text.chars()
            .enumerate()
            .filter(|(_, c)| {
                self.id(c.encode_utf8(&mut buffer))
                    .is_none_or(|id| self.is_special(id))
            })
            .collect()
    }

    /// The token with id `id`.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    fn special_id(&self, token: &Option<String>) -> Option<u32> {
        token.as_deref().and_then(|t| self.id(t))
    }

    /// Id of `<pad>`.
    pub fn pad_id(&self) -> Option<u32> {
        self.special_id(&self.specials.pad)
    }

    /// Id of `<unk>`.
    pub fn unk_id(&self) -> Option<u32> {
        self.special_id(&self.specials.unk)
    }

    /// Id of `<bos>`.
    pub fn bos_id(&self) -> Option<u32> {
        self.special_id(&self.specials.bos)
    }

    /// Id of `<eos>`.
    pub fn eos_id(&self) -> Option<u32> {
        self.special_id(&self.specials.eos)
    }

    /// Whether `id` is one of the special tokens.
    pub fn is_special(&self, id: u32) -> bool {
        [self.pad_id(), self.unk_id(), self.bos_id(), self.eos_id()].contains(&Some(id))
    }

    /// Writes the vocabulary as JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::save_json(path, self)
    }

    /// Reads a vocabulary written by [`Vocab::save`].
    pub fn load(path: &Path) -> Result<Self> {
        crate::io::load_json(path)
    }
}
