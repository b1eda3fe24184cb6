//! Language-model data: a token stream split by position into train / validation / test,
//! and contiguous windows `(x, y)` with `y` the next token of each step (bptt windows).
//!
//! Split the raw text with [`split_text`] *before* fitting the vocabulary, so that the
//! vocabulary sees the training part only; then encode each part and window it.

use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};

use crate::batcher::{SequenceItem, SequenceTarget};
use crate::error::{DataError, Result};
use crate::split::SplitFractions;

/// How a token stream is cut into training windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LmWindows {
    /// Steps per window (the truncated-backpropagation length).
    pub seq_len: usize,
    /// Steps between the starts of consecutive windows (`seq_len` for no overlap).
    pub stride: usize,
}

impl LmWindows {
    /// Windows of `seq_len` that do not overlap.
    pub fn new(seq_len: usize) -> Self {
        Self {
            seq_len,
            stride: seq_len,
        }
    }

    /// Starts of the windows over a stream of `n` tokens: each window needs `seq_len + 1`
    /// tokens (inputs and the shifted targets), all inside the stream.
    pub fn starts(&self, n: usize) -> Result<Vec<usize>> {
        self.validate()?;
        if n < self.seq_len + 1 {
            return Ok(Vec::new());
        }
        Ok((0..=n - self.seq_len - 1).step_by(self.stride).collect())
    }

    fn validate(&self) -> Result<()> {
        if self.seq_len == 0 {
            return Err(DataError::invalid("seq_len", "0 (must be at least 1)"));
        }
        if self.stride == 0 {
            return Err(DataError::invalid("stride", "0 (must be at least 1)"));
        }
        Ok(())
    }
}

/// Cuts `text` into train / validation / test parts by position, each boundary moved
/// forward to the next line start (so no line is split), with `fractions` of the bytes.
pub fn split_text<'a>(text: &'a str, fractions: &SplitFractions) -> Result<[&'a str; 3]> {
    let [train, valid, _] = fractions.ranges(text.len())?;
    let snap = |at: usize| -> usize {
        if at == 0 || at >= text.len() {
            return at.min(text.len());
        }
        text[at..].find('\n').map_or(text.len(), |p| at + p + 1)
    };
    let a = snap(train.end);
    let b = snap(valid.end).max(a);
    Ok([&text[..a], &text[a..b], &text[b..]])
}

/// Windows over one part of a token stream: item `i` has tokens
/// `ids[s..s + seq_len]` and step targets `ids[s + 1..s + seq_len + 1]`.
#[derive(Debug, Clone)]
pub struct LanguageModelDataset {
    ids: Arc<Vec<u32>>,
    windows: LmWindows,
    starts: Vec<usize>,
}

impl LanguageModelDataset {
    /// Windows over `ids` (one split's tokens).
    pub fn new(ids: Vec<u32>, windows: LmWindows) -> Result<Self> {
        let starts = windows.starts(ids.len())?;
        Ok(Self {
            ids: Arc::new(ids),
            windows,
            starts,
        })
    }

    /// Splits one token stream by position and windows each part; windows never cross a
    /// split boundary. (Fit the vocabulary on the training part: see [`split_text`].)
    pub fn splits(
        ids: &[u32],
        fractions: &SplitFractions,
        windows: LmWindows,
    ) -> Result<[Self; 3]> {
        let [a, b, c] = fractions.ranges(ids.len())?;
        Ok([
            Self::new(ids[a].to_vec(), windows)?,
            Self::new(ids[b].to_vec(), windows)?,
            Self::new(ids[c].to_vec(), windows)?,
        ])
    }

    /// The whole token stream of this split.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Start offsets of the windows.
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// The window settings.
    pub fn windows(&self) -> LmWindows {
        self.windows
    }

    /// Window `index` as `(inputs, targets)` slices.
    pub fn window(&self, index: usize) -> (&[u32], &[u32]) {
        let s = self.starts[index];
        let l = self.windows.seq_len;
        (&self.ids[s..s + l], &self.ids[s + 1..s + l + 1])
    }
}

impl Dataset<SequenceItem> for LanguageModelDataset {
    fn get(&self, index: usize) -> Result<SequenceItem, DatasetError> {
        let (x, y) = self.window(index);
        Ok(SequenceItem {
            tokens: x.to_vec(),
            target: SequenceTarget::Steps(y.to_vec()),
            subtokens: Vec::new(),
        })
    }

    fn len(&self) -> usize {
        self.starts.len()
    }
}
