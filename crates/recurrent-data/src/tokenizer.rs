//! Character and word tokenizers over a [`Vocab`] fitted on training text, saved as one
//! JSON file beside a model so that generation and prediction use the same ids.
//!
//! ```
//! use recurrent_data::{Tokenizer, TokenizerKind, VocabBuilder};
//!
//! let tok = Tokenizer::fit(TokenizerKind::Char, "to be or not", VocabBuilder::new()).unwrap();
//! let ids = tok.encode("not to be").unwrap();
//! assert_eq!(tok.decode(&ids), "not to be");
//! ```

use std::borrow::Cow;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::vocab::{Vocab, VocabBuilder};

/// How text is cut into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum TokenizerKind {
    /// Every Unicode scalar value (`char`) is a token, whitespace and newlines included,
    /// so decoding gives the text back exactly.
    Char,
    /// Words: runs of letters, digits and apostrophes (`don't`, `'tis`); every other
    /// non-space character (punctuation) is a token of its own; whitespace separates
    /// tokens and is dropped.
    Word {
        /// Lower-case words before looking them up.
        lowercase: bool,
    },
}

impl TokenizerKind {
    /// The tokens of `text`.
    pub fn pieces<'a>(&self, text: &'a str) -> Vec<Cow<'a, str>> {
        match *self {
            TokenizerKind::Char => text
                .char_indices()
                .map(|(i, c)| Cow::Borrowed(&text[i..i + c.len_utf8()]))
                .collect(),
            TokenizerKind::Word { lowercase } => {
                let mut out = Vec::new();
                let mut start: Option<usize> = None;
                let is_word = |c: char| c.is_alphanumeric() || c == '\'' || c == '’';
                let mut push = |piece: &'a str| {
                    if lowercase && piece.chars().any(char::is_uppercase) {
                        out.push(Cow::Owned(piece.to_lowercase()));
                    } else {
                        out.push(Cow::Borrowed(piece));
                    }
                };
                for (i, c) in text.char_indices() {
                    if is_word(c) {
                        start.get_or_insert(i);
                        continue;
                    }
                    if let Some(s) = start.take() {
                        push(&text[s..i]);
                    }
                    if !c.is_whitespace() {
                        push(&text[i..i + c.len_utf8()]);
                    }
                }
                if let Some(s) = start {
                    push(&text[s..]);
                }
                out
            }
        }
    }
}

/// A tokenizer and its vocabulary: text → ids → text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tokenizer {
    /// How text is cut.
    pub kind: TokenizerKind,
    /// Token ids.
    pub vocab: Vocab,
}

impl Tokenizer {
    /// A tokenizer with an existing vocabulary.
    pub fn new(kind: TokenizerKind, vocab: Vocab) -> Self {
        Self { kind, vocab }
    }

    /// Builds the vocabulary from `train_text` (the training split only) with `builder`'s
    /// settings.
    pub fn fit(kind: TokenizerKind, train_text: &str, mut builder: VocabBuilder) -> Result<Self> {
        for piece in kind.pieces(train_text) {
            builder.add(&piece);
        }
        Ok(Self::new(kind, builder.build()?))
    }

    /// Ids of `text`; tokens not in the vocabulary become `<unk>` (an error naming the
    /// token when there is no `<unk>`).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.kind
            .pieces(text)
            .iter()
            .map(|p| self.vocab.id_or_unk(p))
            .collect()
    }

    /// Ids of `text` between `<bos>` and `<eos>` (each only when the vocabulary has it).
    pub fn encode_with_bounds(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids: Vec<u32> = self.vocab.bos_id().into_iter().collect();
        ids.extend(self.encode(text)?);
        ids.extend(self.vocab.eos_id());
        Ok(ids)
    }

    /// Text of `ids`. `<pad>`, `<bos>` and `<eos>` are left out, `<unk>` is written as its
    /// token, and ids outside the vocabulary are skipped. Characters join as they are;
    /// words join with spaces, without a space before closing punctuation.
    pub fn decode(&self, ids: &[u32]) -> String {
        let v = &self.vocab;
        let skip = [v.pad_id(), v.bos_id(), v.eos_id()];
        let tokens = ids
            .iter()
            .filter(|id| !skip.contains(&Some(**id)))
            .filter_map(|&id| v.token(id));
        match self.kind {
            TokenizerKind::Char => tokens.collect(),
            TokenizerKind::Word { .. } => {
                let mut out = String::new();
                for token in tokens {
                    let closing = matches!(token, "." | "," | ";" | ":" | "!" | "?" | ")" | "]");
                    if !out.is_empty() && !closing && !out.ends_with(['(', '[']) {
                        out.push(' ');
                    }
                    out.push_str(token);
                }
                out
            }
        }
    }

    /// Number of ids (the embedding and output size of a model over it).
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// Writes the tokenizer (kind and vocabulary) as JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::save_json(path, self)
    }

    /// Reads a tokenizer written by [`Tokenizer::save`].
    pub fn load(path: &Path) -> Result<Self> {
        crate::io::load_json(path)
    }
}
